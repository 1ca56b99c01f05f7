// The same checks as uapi_iommufd_header_check.c, compiled as C++20.
#include "uapi_iommufd_header_check.c"
