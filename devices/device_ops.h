// Bind, unbind, attach and detach: the device-centric flow of the RFC.
// All require the model lock.  Every function checks everything before it
// changes anything, so a failure leaves the model as it was.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "../ioasid/iova_range.h"
#include "routing_table.h"

namespace ciommu {

class Model;
struct Context;
struct Attachment;
struct BoundDevice;
class IoAddressSpace;

// 0, -ENODEV, -EEXIST, -EBUSY or -ENOSPC (no defPASID left).
long bind_device(Model& model, Context& ctx, std::string_view name, uint64_t cookie);
// Detaches everything, drops pins, unbinds.  0 or -ENOENT.
long unbind_device(Model& model, Context& ctx, uint64_t cookie) noexcept;
void unbind_all_devices(Model& model, Context& ctx) noexcept;

// pasid: nullopt attaches the whole device.  See IOMMU_DEVICE_ATTACH.
long attach_device(Model& model, Context& ctx, uint64_t cookie, uint32_t ioasid,
                   std::optional<uint32_t> pasid);
long detach_device(Model& model, Context& ctx, uint64_t cookie, std::optional<uint32_t> pasid) noexcept;

// Where the hardware sees an attachment's DMA: unit, RID and the PASID on
// the bus (an mdev: its defPASID).  nullopt for a software mdev.
std::optional<RouteKey> route_of(const Model& model, const Attachment& attachment);

// What the IOMMUs of a space's attached units allow it: the smallest
// aperture, and every RESERVED or MSI region (sorted, each once).
struct Constraints {
    uint64_t aperture_end;
    std::vector<IovaRange> reserved;
};
Constraints constraints_of(const Model& model, const std::map<unsigned, unsigned>& attached_units);

// Loosens a kernel-managed space to what the IOMMUs of the devices still
// translating through it (IoAddressSpace::attached_units) allow, after a
// unit went: the smallest aperture and the union of reserved regions.
// Costs one step per IOMMU unit, whatever the number of attachments, and
// no memory.
void loosen_constraints(const Model& model, IoAddressSpace& kernel_space) noexcept;

}  // namespace ciommu
