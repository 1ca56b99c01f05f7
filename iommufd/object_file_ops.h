// What the object node's files do (read, write, poll, close), by the kind
// of object each is bound to: a fault queue's fd (fault.c's
// iommufd_fault_fops) or the selftest's access fd (selftest.c's
// iommfd_test_staccess_fops, which has only release).  Called with the
// model lock held; the transport (cuse/object_node.*) only carries bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ciommu {

class Model;

// read() at pos of up to count bytes, appended to out: bytes, or -errno.
// An unbound file (or one whose object has no read) is EINVAL; a file
// whose context is gone reads nothing.
long object_file_read(Model& model, uint64_t file_id, uint64_t pos, size_t count, std::vector<std::byte>& out);
// write(): bytes consumed, or -errno.  A fault queue's answers go to the
// topology devices' page requests (iommufd/topology_faults.h).
long object_file_write(Model& model, uint64_t file_id, uint64_t pos, std::span<const std::byte> bytes);
// poll(): POLLIN/POLLOUT bits.
unsigned object_file_poll(Model& model, uint64_t file_id);
// The file's last close: undoes its hold on its object (a fault queue's
// user; an access is destroyed), then forgets the file.
void object_file_release(Model& model, uint64_t file_id) noexcept;

}  // namespace ciommu
