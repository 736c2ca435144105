#pragma once
/// @file stload.hpp
/// @brief Umbrella header: everything a program needs to load safetensors checkpoints.

#include "stload/checkpoint.hpp"
#include "stload/dtype.hpp"
#include "stload/error.hpp"
#include "stload/header.hpp"
