// Capstone (Debian: libcapstone-dev) for A64 disassembly with operand detail.
#include <capstone/capstone.h>
