// CRC-32C (Castagnoli, the iSCSI polynomial 0x1EDC6F41, reflected), as the SSE4.2 instruction computes
// it: crc32c("123456789") = 0xE3069283. Chained: crc32c(b, crc32c(a)) is the CRC of a then b.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alexnet {

uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace alexnet
