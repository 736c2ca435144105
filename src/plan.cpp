#include "stload/plan.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

#include "cpu/convert_elements.hpp"
#include "detail/check.hpp"
#include "detail/slice_ranges.hpp"
#include "detail/tensor_selection.hpp"
#include "stload/name_rules.hpp"

namespace stload {
namespace {

constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string gib(std::uint64_t bytes) {
  return std::to_string(static_cast<double>(bytes) / static_cast<double>(1ULL << 30U)) + " GiB";
}

// "(1, 4)", for messages.
std::string dims_text(const std::vector<std::uint64_t>& v) {
  std::string text = "(";
  for (std::size_t i = 0; i < v.size(); ++i) text += (i ? ", " : "") + std::to_string(v[i]);
  return text + (v.size() == 1 ? ",)" : ")");
}

// Chunks being filled, one per arena, so that tensors interleaved across devices still coalesce.
struct OpenChunk {
  Chunk chunk;
  std::vector<Piece> pieces;
};

class ChunkBuilder {
 public:
  ChunkBuilder(LoadPlan& plan, std::uint64_t chunk_bytes)
      : plan_(plan), chunk_bytes_(chunk_bytes) {}

  // `record`: the tensor as the file stores it; another output dtype makes it convert, strides
  // make it gather.
  void add(const PlannedTensor& placed, const TensorRecord& record) {
    if (plan_.arenas[placed.arena].file_view) return;  // a view of the file: nothing to copy
    const Dtype from = record.info.dtype;
    if (record.info.strided()) {
      add_gathered(placed, record.info.strides);
      return;
    }
    if (from != placed.output.dtype) {
      add_converted(placed, from);
      return;
    }
    for (const SourceRange& source : placed.sources) add(placed, source);
  }

  void finish() {
    for (auto& open : open_) close(open);
    // Stream each file front to back: order chunks by where their first bytes are.
    std::sort(plan_.chunks.begin(), plan_.chunks.end(), [this](const Chunk& a, const Chunk& b) {
      const Piece& pa = plan_.pieces[a.first_piece];
      const Piece& pb = plan_.pieces[b.first_piece];
      return std::tie(pa.file, pa.file_offset) < std::tie(pb.file, pb.file_offset);
    });
    interleave_arenas();
  }

 private:
  // One source range, copied as it is to the tensor's output at its output offset.
  void add(const PlannedTensor& placed, const SourceRange& source) {
    const std::uint64_t bytes = source.bytes;
    if (bytes == 0) return;
    const std::uint64_t destination = placed.arena_offset + source.output_offset;
    if (open_.size() <= placed.arena) open_.resize(placed.arena + 1);
    std::optional<OpenChunk>& open = open_[placed.arena];
    if (bytes > chunk_bytes_) {  // a big range: its own chunks, one slot each
      close(open);
      for (std::uint64_t done = 0; done < bytes; done += chunk_bytes_) {
        const std::uint64_t part = std::min(chunk_bytes_, bytes - done);
        OpenChunk big{Chunk{placed.arena, destination + done, part, 0, 0, ChunkAction::Copy},
                      {Piece{source.file, source.file_offset + done, part, 0, destination + done}}};
        emit(big);
      }
      return;
    }
    // A chunk reads from one file: progress can then name the file each chunk completes, and a
    // reader never switches descriptors inside one slot.
    if (open && (open->pieces.back().file != source.file ||
                 destination + bytes - open->chunk.arena_offset > chunk_bytes_))
      close(open);
    if (!open) open = OpenChunk{Chunk{placed.arena, destination, 0, 0, 0, ChunkAction::Copy}, {}};
    const std::uint64_t at = destination - open->chunk.arena_offset;
    open->pieces.push_back(Piece{source.file, source.file_offset, bytes, at, destination});
    open->chunk.bytes = at + bytes;
  }

  // A converted tensor's chunks hold its pieces only (one (from, to) pair per chunk), cut on
  // element boundaries: up to chunk_bytes of source bytes packed from slot offset 0, each piece
  // landing at its output offset (scaled to the output element size).
  void add_converted(const PlannedTensor& placed, Dtype from) {
    const std::uint64_t in = bit_size(from) / 8;
    const std::uint64_t out = bit_size(placed.output.dtype) / 8;
    const std::uint64_t limit = chunk_bytes_ / in * in;
    std::optional<OpenChunk> open;
    for (const SourceRange& source : placed.sources) {
      std::uint64_t done = 0;
      while (done < source.bytes) {
        if (open && (open->chunk.bytes == limit || open->pieces.back().file != source.file))
          close(open);
        const std::uint64_t destination =
            placed.arena_offset + source.output_offset + done / in * out;
        if (!open) {
          open = OpenChunk{Chunk{placed.arena, destination, 0, 0, 0, ChunkAction::Convert, from,
                                 placed.output.dtype},
                           {}};
        }
        const std::uint64_t part = std::min(source.bytes - done, limit - open->chunk.bytes);
        open->pieces.push_back(
            Piece{source.file, source.file_offset + done, part, open->chunk.bytes, destination});
        open->chunk.bytes += part;
        done += part;
      }
    }
    close(open);
  }

  // A strided tensor's Gather chunks (plan.hpp, GatherBox). Its one source range is the storage
  // span of its elements, element (0, ..., 0) first. The dimensions are taken in storage order
  // (stride descending): the boxes hold every index of the dimensions of small strides, a range
  // of one dimension, and single indices of the larger ones, choosing the most whole dimensions
  // whose storage run fits a chunk. Each box then stages one run of at most chunk_bytes, and a
  // tensor of any size needs about (storage span / chunk size) boxes; layouts whose runs are
  // mostly gaps (huge strides over few elements) could need one box per element, so those are
  // refused past a bound instead of growing the plan without one.
  void add_gathered(const PlannedTensor& placed, const std::vector<std::uint64_t>& strides) {
    const std::vector<std::uint64_t>& shape = placed.output.shape;
    const std::size_t rank = shape.size();
    std::uint64_t elements = 1;
    for (const std::uint64_t d : shape) elements *= d;  // no overflow: the output has a size
    if (elements == 0 || placed.sources.empty()) return;
    const std::uint64_t element = placed.output.bytes / elements;
    const SourceRange& source = placed.sources.front();
    std::vector<std::size_t> order(rank);  // dimensions, largest stride first
    for (std::size_t d = 0; d < rank; ++d) order[d] = d;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return strides[a] > strides[b]; });
    // after[k]: storage elements spanned by whole dimensions order[k+1..] (1 for none). The span
    // fits in the storage (checked when the file was opened), so no sum here overflows.
    std::vector<std::uint64_t> after(rank, 1);
    for (std::size_t k = rank - 1; k-- > 0;)
      after[k] = after[k + 1] + (shape[order[k + 1]] - 1) * strides[order[k + 1]];
    const std::uint64_t limit = chunk_bytes_ / element;  // elements one run may span
    std::size_t level = 0;  // the dimension (in storage order) a box takes a range of
    while (after[level] > limit) ++level;  // the last level always fits: after = 1
    const std::size_t split = order[level];
    const std::uint64_t step =
        strides[split] == 0 ? shape[split]
                            : std::min(shape[split], (limit - after[level]) / strides[split] + 1);
    std::uint64_t boxes = (shape[split] + step - 1) / step;
    bool overflow = false;
    for (std::size_t k = 0; k < level; ++k)
      overflow = overflow || __builtin_mul_overflow(boxes, shape[order[k]], &boxes);
    const std::uint64_t most = max_boxes(source.bytes, elements);
    STLOAD_EXPECT(!overflow && boxes <= most, ErrorCode::InvalidArgument,
                  "tensor '" + placed.name +
                      "': its strides scatter its elements too thinly for the strided copy (more "
                      "than " +
                      std::to_string(most) + " storage runs of at most " +
                      std::to_string(chunk_bytes_) +
                      " bytes); save it with .contiguous(), or raise the chunk size");
    const std::size_t layout = plan_.layouts.size();
    plan_.layouts.push_back(StridedLayout{shape, strides, element});
    ++plan_.gathered_tensors;
    std::vector<std::uint64_t> index(rank, 0);  // odometer over order[0..level-1], then `split`
    while (true) {
      GatherBox box{layout, std::vector<std::uint64_t>(rank, 0), shape, 1};
      for (std::size_t k = 0; k < level; ++k) {
        box.begin[order[k]] = index[order[k]];
        box.end[order[k]] = index[order[k]] + 1;
      }
      box.begin[split] = index[split];
      box.end[split] = std::min(shape[split], index[split] + step);
      std::uint64_t first = 0;  // storage element of the box's first index
      std::uint64_t span = 1;   // storage elements from it to the box's last
      for (std::size_t d = 0; d < rank; ++d) {
        box.elements *= box.end[d] - box.begin[d];
        first += box.begin[d] * strides[d];
        span += (box.end[d] - box.begin[d] - 1) * strides[d];
      }
      OpenChunk chunk{
          Chunk{placed.arena, placed.arena_offset, span * element, 0, 0, ChunkAction::Gather,
                placed.output.dtype, placed.output.dtype, plan_.gathers.size()},
          {Piece{source.file, source.file_offset + first * element, span * element, 0,
                 placed.arena_offset}}};
      plan_.gathers.push_back(std::move(box));
      emit(chunk);
      // Next box: the range of `split` moves on, then the single indices, last in order first.
      index[split] += step;
      if (index[split] < shape[split]) continue;
      index[split] = 0;
      std::size_t k = level;
      while (k > 0 && ++index[order[k - 1]] == shape[order[k - 1]]) index[order[--k]] = 0;
      if (k == 0) return;
    }
  }

  // The most Gather chunks a strided tensor may take: a few per chunk of its storage span, and
  // one per 256 of its elements beyond that (overlapping layouts).
  [[nodiscard]] std::uint64_t max_boxes(std::uint64_t span_bytes, std::uint64_t elements) const {
    return 64 + 4 * (span_bytes / chunk_bytes_ + 1) + elements / 256;
  }

  // Takes one chunk of each arena in turn, each arena's chunks still in file order: with a
  // contiguous or `auto` map, file order would send every early chunk to the first device and
  // leave the other devices' links idle until it is done; in turn, the readers keep a copy in
  // flight to every device. A one-arena plan keeps file order.
  void interleave_arenas() {
    std::vector<std::vector<Chunk>> by_arena;
    for (const Chunk& chunk : plan_.chunks) {
      if (by_arena.size() <= chunk.arena) by_arena.resize(chunk.arena + 1);
      by_arena[chunk.arena].push_back(chunk);
    }
    if (by_arena.size() < 2) return;
    std::vector<std::size_t> next(by_arena.size(), 0);
    std::size_t placed = 0;
    while (placed < plan_.chunks.size()) {
      for (std::size_t a = 0; a < by_arena.size(); ++a) {
        if (next[a] < by_arena[a].size()) plan_.chunks[placed++] = by_arena[a][next[a]++];
      }
    }
  }

  void close(std::optional<OpenChunk>& open) {
    if (open) emit(*open);
    open.reset();
  }

  void emit(OpenChunk& open) {
    open.chunk.first_piece = plan_.pieces.size();
    open.chunk.piece_count = open.pieces.size();
    plan_.pieces.insert(plan_.pieces.end(), open.pieces.begin(), open.pieces.end());
    plan_.chunks.push_back(open.chunk);
  }

  LoadPlan& plan_;
  std::uint64_t chunk_bytes_;
  std::vector<std::optional<OpenChunk>> open_;
};

// Devices for an `auto` map: fill each in order within its limit.
class AutoFiller {
 public:
  AutoFiller(const DeviceMap& map, const PlanOptions& options) : devices_(map.devices()) {
    STLOAD_EXPECT(!devices_.empty(), ErrorCode::InvalidArgument, "auto device_map has no devices");
    for (const Device& d : devices_) {
      const auto own = map.max_memory().find(d);
      const auto available = options.available_memory.find(d);
      limits_.push_back(own != map.max_memory().end()                 ? own->second
                        : available != options.available_memory.end() ? available->second
                                                                      : 0);
    }
    used_.assign(devices_.size(), 0);
  }

  Device place(const PlannedTensor& tensor) {
    const std::uint64_t need = align_up(tensor.output.bytes, kArenaAlignment);
    while (current_ < devices_.size() && used_[current_] + need > limits_[current_]) ++current_;
    STLOAD_EXPECT(current_ < devices_.size(), ErrorCode::OutOfMemory,
                  "auto device_map: tensor '" + tensor.name + "' (" + std::to_string(need) +
                      " bytes) does not fit; the limits are " + describe_limits());
    used_[current_] += need;
    return devices_[current_];
  }

 private:
  std::string describe_limits() const {
    std::string text;
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      text += (i ? ", " : "") + devices_[i].to_string() + " " + gib(limits_[i]);
    }
    return text;
  }

  std::vector<Device> devices_;
  std::vector<std::uint64_t> limits_;
  std::vector<std::uint64_t> used_;
  std::size_t current_ = 0;
};

// A tensor loaded as the checkpoint stores it: its record's dtype, shape and size, built from its
// one run of file bytes. A strided tensor's run is the storage span its elements reach, and its
// output the compact size of its shape (the file checked that it does not overflow).
PlannedTensor whole_tensor(std::size_t index, const TensorRecord& record) {
  PlannedTensor planned;
  planned.tensor = index;
  planned.name = record.info.name;
  const std::uint64_t size = record.info.strided()
                                 ? record.info.elements() * (bit_size(record.info.dtype) / 8)
                                 : record.bytes();
  planned.output = OutputSpec{record.info.dtype, record.info.shape, size};
  if (record.bytes() > 0)
    planned.sources.push_back(SourceRange{record.file, record.offset, record.bytes(), 0});
  return planned;
}

// Where a tensor on a view device goes: a view of its file when it is one run of the file's bytes
// (a whole tensor, or a dim-0 slice) whose offset keeps it aligned to its element type, else
// nullopt (copied like any other).
std::optional<std::size_t> view_arena(LoadPlan& plan, const Checkpoint& checkpoint,
                                      const PlannedTensor& planned, const Device& device) {
  const TensorRecord& record = checkpoint.tensors()[planned.tensor];
  if (planned.sources.size() > 1) return std::nullopt;
  const std::uint64_t offset =
      planned.sources.empty() ? record.offset : planned.sources.front().file_offset;
  const std::uint64_t element = std::max<std::uint64_t>(bit_size(record.info.dtype) / 8, 1);
  if (planned.output.bytes > 0 && offset % element != 0) {
    ++plan.unaligned_copies;
    return std::nullopt;
  }
  const auto found = std::find_if(plan.arenas.begin(), plan.arenas.end(), [&](const ArenaPlan& a) {
    return a.file_view && a.file == record.file && a.device == device;
  });
  if (found != plan.arenas.end()) return static_cast<std::size_t>(found - plan.arenas.begin());
  plan.arenas.push_back(
      ArenaPlan{device, checkpoint.files()[record.file].size, false, true, record.file});
  return plan.arenas.size() - 1;
}

// A part of a strided tensor is a box of it: the same strides over the part's shape, its
// storage span starting at the part's first element. Its Gather chunks copy it as a whole.
void strided_part(const TensorRecord& record,
                  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& bounds,
                  PlannedTensor& planned) {
  const std::uint64_t element = bit_size(record.info.dtype) / 8;
  const std::vector<std::uint64_t>& strides = record.info.strides;
  std::uint64_t elements = 1;
  std::uint64_t first = 0;
  std::uint64_t span = 1;
  planned.output.shape.clear();
  for (std::size_t d = 0; d < bounds.size(); ++d) {
    const auto [begin, end] = bounds[d];
    planned.output.shape.push_back(end - begin);
    elements *= end - begin;
    first += begin * strides[d];
    if (end > begin) span += (end - begin - 1) * strides[d];
  }
  planned.output.bytes = elements * element;
  planned.sources.clear();
  if (elements != 0) {
    planned.sources.push_back(
        SourceRange{record.file, record.offset + first * element, span * element, 0});
  }
}

// The tensor-parallel part of each tensor (PlanOptions::tensor_parallel): its split rule, found
// once per name, and the checks that need the whole checkpoint.
class Slicer {
 public:
  Slicer(const Checkpoint& checkpoint, const TensorParallel& options) : options_(options) {
    STLOAD_EXPECT(options.world >= 1 && options.rank < options.world, ErrorCode::InvalidArgument,
                  "tensor parallelism: rank " + std::to_string(options.rank) + " of world " +
                      std::to_string(options.world) + " (rank must be below world, world >= 1)");
    if (!options.split.empty()) rules_ = NameRules<std::size_t>(options.split);
    for (const auto& [name, bounds] : options.bounds) {
      STLOAD_EXPECT(checkpoint.find(name) != nullptr, ErrorCode::InvalidArgument,
                    "bounds are given for tensor '" + name + "', which the checkpoint lacks");
    }
  }

  // Narrows `planned` to this rank's part of `record` (nothing when no rule or bounds name it).
  void apply(const TensorRecord& record, PlannedTensor& planned) const {
    if (options_.empty()) return;
    const auto bounds = detail::slice_bounds(record, options_, rules_.find(record.info.name));
    if (bounds.empty()) return;
    if (record.info.strided()) {
      strided_part(record, bounds, planned);
    } else {
      detail::plan_region(record, bounds, planned.output, planned.sources);
    }
  }

 private:
  const TensorParallel& options_;
  NameRules<std::size_t> rules_;
};

// Dtype conversion (PlanOptions::dtype): which tensors are loaded as another dtype.
class Converter {
 public:
  explicit Converter(const DtypeConversion& options) : floats_(options.floats) {
    if (!options.rules.empty()) rules_ = NameRules<Dtype>(options.rules);
  }

  // Gives `planned` (whose output is still in the file's dtype) its target dtype: output bytes and
  // the sources' output offsets scale by the element sizes, the shape stays.
  void apply(PlannedTensor& planned) const {
    const Dtype from = planned.output.dtype;
    const Dtype* rule = rules_.find(planned.name);
    const std::optional<Dtype> to = rule ? std::optional<Dtype>(*rule) : implicit(from);
    if (!to || *to == from) return;
    STLOAD_EXPECT(detail::convertible(from, *to), ErrorCode::InvalidArgument,
                  "tensor '" + planned.name + "' cannot be loaded as " +
                      std::string(to_string(*to)) + ": no conversion from " +
                      std::string(to_string(from)) + " to " + std::string(to_string(*to)) +
                      " (supported: BF16, F16, F32, F64 to each other; F8_E4M3, F8_E5M2 to BF16, "
                      "F16, F32)");
    const std::uint64_t in = bit_size(from) / 8;
    const std::uint64_t out = bit_size(*to) / 8;
    planned.output.dtype = *to;
    planned.output.bytes = planned.output.bytes / in * out;
    for (SourceRange& source : planned.sources)
      source.output_offset = source.output_offset / in * out;
  }

 private:
  // `floats` reaches the floating dtypes of a byte or more only; F8_E8M0 holds scale exponents,
  // not values, and C64 is complex: neither is converted unless a rule names it.
  std::optional<Dtype> implicit(Dtype from) const {
    switch (from) {
      case Dtype::F8_E4M3:
      case Dtype::F8_E5M2:
      case Dtype::F8_E4M3FNUZ:
      case Dtype::F8_E5M2FNUZ:
      case Dtype::F16:
      case Dtype::BF16:
      case Dtype::F32:
      case Dtype::F64:
        return floats_;
      default:
        return std::nullopt;
    }
  }

  std::optional<Dtype> floats_;
  NameRules<Dtype> rules_;
};

}  // namespace

LoadPlan make_plan(const Checkpoint& checkpoint, const PlanOptions& options) {
  STLOAD_EXPECT(
      options.chunk_bytes >= kArenaAlignment && options.chunk_bytes % kArenaAlignment == 0,
      ErrorCode::InvalidArgument,
      "chunk size " + std::to_string(options.chunk_bytes) + " must be a positive multiple of " +
          std::to_string(kArenaAlignment));
  LoadPlan plan;
  plan.chunk_bytes = options.chunk_bytes;
  const DeviceMap& map = options.device_map;
  std::optional<AutoFiller> filler;
  if (map.is_automatic()) filler.emplace(map, options);

  std::vector<std::uint64_t> arena_cursor;
  const auto tensors = checkpoint.tensors();
  const std::vector<bool> selected = detail::select_tensors(checkpoint, options);
  const Slicer slicer(checkpoint, options.tensor_parallel);
  const Converter converter(options.dtype);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorRecord& record = tensors[i];
    if (!selected[i]) continue;  // `only` and `filter` (detail/tensor_selection.cpp)
    PlannedTensor planned = whole_tensor(i, record);
    slicer.apply(record, planned);  // a tensor-parallel part: a smaller output, fewer bytes read
    converter.apply(planned);       // another dtype: the output's element size, same bytes read
    const bool converted = planned.output.dtype != record.info.dtype;
    if (converted) ++plan.converted_tensors;
    // A Gather chunk lands elements as they are stored; converting them on the way is not built.
    STLOAD_EXPECT(!converted || !record.info.strided(), ErrorCode::InvalidArgument,
                  "tensor '" + planned.name + "' is strided (stride " +
                      dims_text(record.info.strides) + ") and cannot be loaded as " +
                      std::string(to_string(planned.output.dtype)) +
                      ": strided copies do not convert dtypes yet; load it without a dtype for "
                      "it, or save it with .contiguous()");
    const auto own = options.own_arenas.find(planned.name);
    if (own != options.own_arenas.end()) {
      planned.arena = plan.arenas.size();
      planned.arena_offset = 0;
      plan.arenas.push_back(ArenaPlan{own->second, planned.output.bytes, true, false, 0});
      arena_cursor.push_back(planned.output.bytes);
      plan.tensor_bytes += planned.output.bytes;
      for (const SourceRange& source : planned.sources) plan.source_bytes += source.bytes;
      plan.tensors.push_back(std::move(planned));
      continue;
    }
    Device device;
    if (filler) {
      device = filler->place(planned);
    } else {
      const auto found = map.lookup(planned.name);
      STLOAD_EXPECT(found.has_value(), ErrorCode::InvalidArgument,
                    "tensor '" + planned.name +
                        "' matches no device_map entry (add its name, a prefix of it, or \"\")");
      device = *found;
    }
    // A converted tensor is never a view: its bytes are not the file's; nor is a strided one,
    // whose file bytes are not in row-major order.
    if (!converted && !record.info.strided() &&
        std::find(options.view_devices.begin(), options.view_devices.end(), device) !=
            options.view_devices.end()) {
      const auto view = view_arena(plan, checkpoint, planned, device);
      arena_cursor.resize(plan.arenas.size(), 0);  // parallel to the arenas, views' included
      if (view) {
        planned.arena = *view;
        // The view starts at the tensor's (or its part's) first byte in the file.
        planned.arena_offset =
            planned.sources.empty() ? record.offset : planned.sources.front().file_offset;
        plan.tensor_bytes += planned.output.bytes;
        ++plan.viewed_tensors;
        plan.viewed_bytes += planned.output.bytes;
        plan.tensors.push_back(std::move(planned));
        continue;
      }
    }
    auto arena = std::find_if(plan.arenas.begin(), plan.arenas.end(), [&](const ArenaPlan& a) {
      return a.device == device && !a.own && !a.file_view;
    });
    if (arena == plan.arenas.end()) {
      plan.arenas.push_back(ArenaPlan{device, 0, false, false, 0});
      arena_cursor.push_back(0);
      arena = plan.arenas.end() - 1;
    }
    // Arenas hold outputs: their sizes and offsets follow the output spec, not the file bytes.
    planned.arena = static_cast<std::size_t>(arena - plan.arenas.begin());
    planned.arena_offset = align_up(arena_cursor[planned.arena], kArenaAlignment);
    arena_cursor[planned.arena] = planned.arena_offset + planned.output.bytes;
    arena->bytes = arena_cursor[planned.arena];
    plan.tensor_bytes += planned.output.bytes;
    for (const SourceRange& source : planned.sources) plan.source_bytes += source.bytes;
    plan.tensors.push_back(std::move(planned));
  }

  ChunkBuilder builder(plan, options.chunk_bytes);
  for (const PlannedTensor& placed : plan.tensors) builder.add(placed, tensors[placed.tensor]);
  builder.finish();
  return plan;
}

}  // namespace stload
