// libdw and libelf from elfutils (Debian: libdw-dev). DebugInfo reads DWARF
// (units, line tables, scopes, call-frame information) only through these.
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <dwarf.h>
#include <libelf.h>
#include <gelf.h>
