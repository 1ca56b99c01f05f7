// The trace's view of uAPI structs (docs/trace.md): the command table's rows
// (dispatcher/command_table.cpp) say how to turn the bytes a call passed
// (and the bytes copied back) into JSON fields.  Pure functions of the
// bytes: no model, no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "../dispatcher/command_table.h"

struct iommu_fault_record;

namespace ciommu::trace {

// Keys in the order they are added, so lines read in struct order and two
// runs print the same bytes.
using Json = nlohmann::ordered_json;

// Every decoder reads the table of the daemon's uAPI (`abi`).
// "MAP_DMA" for a command of the table; "0x%x" of the number otherwise.
std::string command_name(unsigned cmd, Abi abi = Abi::kRfc);

// The call's arguments as passed.  Value commands: {"value": arg}.  Struct
// commands: argsz, flags and the command's input fields, decoded from the
// bytes passed (at most argsz of them), zero-extended to the struct the
// daemon knows.  Unknown commands: {"arg": "0x..."}.
Json decode_args(unsigned cmd, uint64_t arg, std::span<const std::byte> in, Abi abi = Abi::kRfc);
// The output fields of what was copied back (zero-extended); an empty
// object if the command copies nothing back.
Json decode_out(unsigned cmd, std::span<const std::byte> out, Abi abi = Abi::kRfc);
// Whether the command has a decoder: every command of the table has.
bool has_decoder(unsigned cmd, Abi abi = Abi::kRfc);

// One fault record, flags/perm/reason as names, addr as hex.
Json decode_fault_record(const iommu_fault_record& record);

// "EINVAL" for 22; "E<n>" for a number without a name.
std::string errno_name(int err);
// "SUCCESS", "INVALID", "FAILURE"; else the number as a string.
std::string page_response_code_name(uint32_t code);

}  // namespace ciommu::trace
