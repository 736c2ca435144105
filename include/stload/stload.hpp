#pragma once
/// @file stload.hpp
/// @brief Umbrella header: everything a program needs to load safetensors checkpoints.

#include "stload/checkpoint.hpp"
#include "stload/convert.hpp"
#include "stload/cuda_info.hpp"
#include "stload/device_plan.hpp"
#include "stload/dtype.hpp"
#include "stload/dtype_rules.hpp"
#include "stload/engine.hpp"
#include "stload/error.hpp"
#include "stload/generate.hpp"
#include "stload/header.hpp"
#include "stload/hub.hpp"
#include "stload/loader.hpp"
#include "stload/log.hpp"
#include "stload/placement.hpp"
#include "stload/plan.hpp"
#include "stload/save.hpp"
#include "stload/tensor_map.hpp"
#include "stload/tensor_parallel.hpp"
#include "stload/version.h"
