#include "detail/header_json.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "detail/check.hpp"
#include "detail/rapidjson.hpp"

namespace stload::detail {
namespace {

using rapidjson::SizeType;

// Where in the schema the next event lands.
enum class State { Start, Root, Tensor, Shape, Offsets, Metadata, Skip, Done };
enum class Field { None, Dtype, Shape, Offsets, Unknown };
enum : unsigned { kSeenDtype = 1U, kSeenShape = 2U, kSeenOffsets = 4U };

constexpr const char* kLoneSurrogate =
    "a \\u escape decodes to a lone surrogate, which is not UTF-8";

class HeaderHandler {
 public:
  explicit HeaderHandler(Header& out) : out_(out) {}

  [[nodiscard]] const std::string& error() const { return error_; }

  bool Null() {
    if (state_ == State::Root && pending_metadata_) {  // "__metadata__": null means none
      pending_metadata_ = false;
      return true;
    }
    return scalar("null");
  }
  bool Bool(bool /*unused*/) { return scalar("a boolean"); }
  // Numbers all arrive in RawNumber (kParseNumbersAsStringsFlag); the Handler concept wants these.
  bool Int(int /*unused*/) { return scalar("a number"); }
  bool Int64(std::int64_t /*unused*/) { return scalar("a number"); }
  bool Uint(unsigned /*unused*/) { return scalar("a number"); }
  bool Uint64(std::uint64_t /*unused*/) { return scalar("a number"); }
  bool Double(double /*unused*/) { return scalar("a number"); }

  // A number's text, already checked by RapidJSON to be JSON number syntax. Only shape and
  // data_offsets read numbers, and they take decimal u64 only: no sign (not even -0), no fraction
  // or exponent (not even 4.0 or 4e0, as serde_json refuses them for a u64), nothing past 2^64 - 1.
  bool RawNumber(const char* str, SizeType length, bool /*copy*/) {
    if (state_ != State::Shape && state_ != State::Offsets) return scalar("a number");
    const std::string_view text(str, length);
    if (text.starts_with('-')) return wrong_type("a negative number");
    if (text.find_first_of(".eE") != std::string_view::npos) return wrong_type("a non-integer");
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return wrong_type("a number beyond 64 bits");
    }
    if (state_ == State::Shape) {
      current_.shape.push_back(value);
      return true;
    }
    if (offsets_count_ >= 2) return fail("'data_offsets' must hold exactly 2 integers");
    (offsets_count_ == 0 ? current_.begin : current_.end) = value;
    ++offsets_count_;
    return true;
  }

  bool String(const char* str, SizeType length, bool /*copy*/) {
    if (!is_decoded_string_utf8(str, length)) return fail(kLoneSurrogate);
    const std::string_view value(str, length);
    if (state_ == State::Tensor && field_ == Field::Dtype) {
      const auto dtype = dtype_from_string(value);
      if (!dtype) return fail("unknown dtype '" + std::string(value) + "'");
      current_.dtype = *dtype;
      return true;
    }
    if (state_ == State::Metadata) {
      if (!out_.metadata.emplace(metadata_key_, value).second) {
        return fail("duplicate key '" + metadata_key_ + "' in __metadata__");
      }
      return true;
    }
    return scalar("a string");
  }

  bool StartObject() {
    if (!enter()) return false;
    switch (state_) {
      case State::Start:
        state_ = State::Root;
        return true;
      case State::Root:
        if (pending_metadata_) {
          pending_metadata_ = false;
          state_ = State::Metadata;
        } else {
          current_ = TensorInfo{};
          current_.name = std::move(key_);
          seen_ = 0;
          offsets_count_ = 0;
          unknown_keys_.clear();
          state_ = State::Tensor;
        }
        return true;
      default:
        return container("an object");
    }
  }

  bool StartArray() {
    if (!enter()) return false;
    if (state_ == State::Tensor && field_ == Field::Shape) {
      state_ = State::Shape;
      return true;
    }
    if (state_ == State::Tensor && field_ == Field::Offsets) {
      state_ = State::Offsets;
      return true;
    }
    if (state_ == State::Start) return fail("the header is not a JSON object");
    return container("an array");
  }

  bool Key(const char* str, SizeType length, bool /*copy*/) {
    if (!is_decoded_string_utf8(str, length)) return fail(kLoneSurrogate);
    const std::string_view key(str, length);
    switch (state_) {
      case State::Root:
        if (key == "__metadata__") {
          if (seen_metadata_) return fail("duplicate key '__metadata__'");
          seen_metadata_ = true;
          pending_metadata_ = true;
        } else {
          key_.assign(key);
        }
        return true;
      case State::Tensor:
        return tensor_field(key);
      case State::Metadata:
        metadata_key_.assign(key);
        return true;
      default:
        return true;  // keys inside skipped values
    }
  }

  bool EndObject(SizeType /*unused*/) {
    --depth_;
    switch (state_) {
      case State::Root:
        state_ = State::Done;
        return true;
      case State::Metadata:
        state_ = State::Root;
        return true;
      case State::Tensor:
        return finish_tensor();
      default:
        return leave_skip();
    }
  }

  bool EndArray(SizeType /*unused*/) {
    --depth_;
    if (state_ == State::Shape) {
      state_ = State::Tensor;
      return true;
    }
    if (state_ == State::Offsets) {
      if (offsets_count_ != 2) return fail("'data_offsets' must hold exactly 2 integers");
      state_ = State::Tensor;
      return true;
    }
    return leave_skip();
  }

 private:
  bool fail(std::string message) {
    if (error_.empty()) {
      const bool in_tensor = state_ == State::Tensor || state_ == State::Shape ||
                             state_ == State::Offsets || state_ == State::Skip;
      error_ =
          in_tensor ? "tensor '" + current_.name + "': " + std::move(message) : std::move(message);
    }
    return false;
  }

  bool enter() {
    if (++depth_ > kMaxJsonDepth) {
      return fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return true;
  }

  // A scalar where the schema wants something else, unless it is the value of an ignored field.
  bool scalar(const char* what) {
    if (state_ == State::Skip) return true;
    if (state_ == State::Tensor && field_ == Field::Unknown) return true;
    return wrong_type(what);
  }

  bool container(const char* what) {
    if (state_ == State::Skip) return true;
    if (state_ == State::Tensor && field_ == Field::Unknown) {
      skip_depth_ = depth_ - 1;
      state_ = State::Skip;
      return true;
    }
    return wrong_type(what);
  }

  bool wrong_type(const char* what) {
    switch (state_) {
      case State::Start:
        return fail("the header is not a JSON object");
      case State::Root:
        return fail(pending_metadata_ ? std::string("__metadata__ must be an object, found ") + what
                                      : "tensor '" + key_ + "' must be an object, found " + what);
      case State::Metadata:
        return fail("__metadata__ value of '" + metadata_key_ + "' must be a string, found " +
                    what);
      case State::Shape:
        return fail(std::string("'shape' must hold non-negative integers, found ") + what);
      case State::Offsets:
        return fail(std::string("'data_offsets' must hold non-negative integers, found ") + what);
      case State::Tensor:
        return fail(std::string("field '") + field_name() + "' has the wrong type: " + what);
      default:
        return fail(std::string("unexpected ") + what);
    }
  }

  [[nodiscard]] const char* field_name() const {
    switch (field_) {
      case Field::Dtype:
        return "dtype";
      case Field::Shape:
        return "shape";
      case Field::Offsets:
        return "data_offsets";
      default:
        return "?";
    }
  }

  bool tensor_field(std::string_view key) {
    field_ = Field::Unknown;  // until the key proves to be one of the three
    unsigned bit = 0;
    if (key == "dtype") {
      field_ = Field::Dtype;
      bit = kSeenDtype;
    } else if (key == "shape") {
      field_ = Field::Shape;
      bit = kSeenShape;
    } else if (key == "data_offsets") {
      field_ = Field::Offsets;
      bit = kSeenOffsets;
    } else {
      // Ignored, as the reference reader ignores unknown fields; but still a key of this object.
      if (!unknown_keys_.emplace(key).second) {
        return fail("duplicate key '" + std::string(key) + "'");
      }
      return true;
    }
    if ((seen_ & bit) != 0) return fail("duplicate key '" + std::string(key) + "'");
    seen_ |= bit;
    return true;
  }

  bool finish_tensor() {
    if ((seen_ & kSeenDtype) == 0) return fail("missing field 'dtype'");
    if ((seen_ & kSeenShape) == 0) return fail("missing field 'shape'");
    if ((seen_ & kSeenOffsets) == 0) return fail("missing field 'data_offsets'");
    out_.tensors.push_back(std::move(current_));
    field_ = Field::None;
    state_ = State::Root;
    return true;
  }

  bool leave_skip() {
    if (state_ == State::Skip && depth_ == skip_depth_) state_ = State::Tensor;
    return true;
  }

  Header& out_;
  State state_ = State::Start;
  Field field_ = Field::None;
  int depth_ = 0;
  int skip_depth_ = 0;
  unsigned seen_ = 0;
  int offsets_count_ = 0;
  bool seen_metadata_ = false;
  bool pending_metadata_ = false;
  std::string key_;
  std::string metadata_key_;
  TensorInfo current_;
  std::set<std::string, std::less<>> unknown_keys_;  // of the current tensor; usually none
  std::string error_;
};

void reject_duplicate_tensor_names(const std::vector<TensorInfo>& tensors) {
  std::vector<std::string_view> names;
  names.reserve(tensors.size());
  for (const auto& tensor : tensors) names.emplace_back(tensor.name);
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  STLOAD_EXPECT(dup == names.end(), ErrorCode::InvalidHeaderDeserialization,
                "duplicate key '" + std::string(*dup) + "' in header");
}

}  // namespace

void parse_header_json(std::string_view json, std::uint64_t json_file_offset, Header& out) {
  HeaderHandler handler(out);
  rapidjson::MemoryStream stream(json.data(), json.size());
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kUntrustedParseFlags>(stream, handler);
  if (!result) {
    const std::string where =
        " at file offset " + std::to_string(json_file_offset + result.Offset());
    STLOAD_FAIL(ErrorCode::InvalidHeaderDeserialization,
                (handler.error().empty() ? std::string(rapidjson::GetParseError_En(result.Code()))
                                         : handler.error()) +
                    where);
  }
  const std::size_t consumed = stream.Tell();
  STLOAD_EXPECT(is_json_whitespace(json.data() + consumed, json.size() - consumed),
                ErrorCode::InvalidHeaderDeserialization,
                "trailing characters after the header JSON at file offset " +
                    std::to_string(json_file_offset + consumed));
  reject_duplicate_tensor_names(out.tensors);
}

}  // namespace stload::detail
