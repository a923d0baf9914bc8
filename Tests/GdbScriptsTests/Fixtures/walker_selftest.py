"""Synthetic-memory tests of gdb/mm_aarch64.py (pure Python, no gdb): every
granule, blocks at each legal level, hierarchical table attributes, TBI,
ASID bits in a TTBR, malformed descriptors. Run by GdbScriptsTests with
PYTHONPATH=gdb: python3 -m unittest walker_selftest."""
import struct
import unittest

import mm_aarch64 as A

# TCR_EL1 fields (Arm ARM): T0SZ [5:0], TG0 [15:14], T1SZ [21:16], TG1 [31:30], IPS [34:32], TBI0/1 [37]/[38].
TG0 = {12: 0b00, 14: 0b10, 16: 0b01}
TG1 = {12: 0b10, 14: 0b01, 16: 0b11}
MAIR = 0x4400FF   # Attr0 normal WB, Attr1 device nGnRnE, Attr2 normal NC


def tcr(granule=12, t0sz=16, t1sz=16, ips=2, tbi0=False, tbi1=False, epd0=False):
    return (t0sz | TG0[granule] << 14 | t1sz << 16 | TG1[granule] << 30 | ips << 32
            | int(tbi0) << 37 | int(tbi1) << 38 | int(epd0) << 7)


class Memory:
    """Sparse physical memory holding 64-bit descriptors; counts table reads."""

    def __init__(self):
        self.words = {}
        self.reads = []

    def put(self, table, index, descriptor):
        self.words[table + 8 * index] = descriptor

    def read(self, pa, length):
        self.reads.append(pa)
        return b"".join(struct.pack("<Q", self.words.get(pa + 8 * i, 0)) for i in range(length // 8))


TABLE = 0b11
PAGE = 0b11
BLOCK = 0b01
AF = 1 << 10
NORMAL_LEAF = AF | 3 << 8          # AF, inner shareable, AttrIndx 0
AP_EL0 = 1 << 6
AP_RO = 1 << 7
PXN, UXN = 1 << 53, 1 << 54


class WalkerTests(unittest.TestCase):
    def walker(self, memory, tcr_value, half="ttbr0", root=0x1000):
        space = A.AddressSpace(tcr_value, half, root, mair=MAIR)
        return space, A.TranslationTableWalker(space, memory.read)

    def test_4k_four_levels_page_and_blocks(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 1, 0x40000000 | BLOCK | NORMAL_LEAF)        # 1G block at VA 1G
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x3000, 3, 0x80200000 | BLOCK | NORMAL_LEAF | UXN)  # 2M block at VA 6M
        m.put(0x3000, 0, 0x4000 | TABLE)
        m.put(0x4000, 5, 0x9000 | PAGE | NORMAL_LEAF | AP_EL0)    # page at VA 0x5000
        space, walker = self.walker(m, tcr())
        self.assertEqual((space.start_level, space.top_entries), (0, 512))
        steps, pa = walker.translate(0x5123)
        self.assertEqual(pa, 0x9123)
        self.assertEqual([s.level for s in steps], [0, 1, 2, 3])
        self.assertEqual(walker.translate(0x40001234)[1], 0x40001234)
        self.assertEqual(walker.translate(0x600abc)[1], 0x80200abc)
        self.assertIsNone(walker.translate(0x7000)[1])
        result = walker.walk(keep_leaves=True)
        self.assertEqual([(l.va, l.size, l.pa, l.level) for l in result.leaves],
                         [(0x5000, 0x1000, 0x9000, 3), (0x600000, 0x200000, 0x80200000, 2),
                          (0x40000000, 0x40000000, 0x40000000, 1)])
        self.assertEqual(result.statistics(), ({1: 1, 2: 1}, 1))
        self.assertEqual(sorted(set(m.reads)), [0x1000, 0x2000, 0x3000, 0x4000])

    def test_each_table_is_read_once_per_walk(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x3000, 0, 0x4000 | TABLE)
        for i in range(512):
            m.put(0x4000, i, (0x100000 + i * 0x1000) | PAGE | NORMAL_LEAF)
        _, walker = self.walker(m, tcr())
        result = walker.walk()
        self.assertEqual(result.statistics(), ({}, 512))
        self.assertEqual(len(m.reads), 4)
        runs = result.runs
        self.assertEqual([(r.start, r.end, r.pa, r.leaves) for r in runs], [(0, 0x200000, 0x100000, 512)])

    def test_runs_split_on_attributes_and_physical_gaps(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x3000, 0, 0x4000 | TABLE)
        m.put(0x4000, 0, 0x10000 | PAGE | NORMAL_LEAF)
        m.put(0x4000, 1, 0x11000 | PAGE | NORMAL_LEAF | AP_RO)    # permissions differ
        m.put(0x4000, 2, 0x13000 | PAGE | NORMAL_LEAF | AP_RO)    # PA not contiguous
        m.put(0x4000, 3, 0x14000 | PAGE | NORMAL_LEAF | AP_RO)
        runs = self.walker(m, tcr())[1].walk().runs
        self.assertEqual([(r.start, r.end, r.pa) for r in runs],
                         [(0, 0x1000, 0x10000), (0x1000, 0x2000, 0x11000), (0x2000, 0x4000, 0x13000)])
        self.assertEqual(runs[1].attributes.token(), "k:r-x,u:--x,normal-WB,ISH,AF")

    def test_runs_split_where_the_leaf_size_changes(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x3000, 0, 0x0 | BLOCK | NORMAL_LEAF)                     # 2M block at VA 0
        m.put(0x3000, 1, 0x4000 | TABLE)                                # pages from VA 2M, PA contiguous
        m.put(0x4000, 0, 0x200000 | PAGE | NORMAL_LEAF)
        m.put(0x4000, 1, 0x201000 | PAGE | NORMAL_LEAF)
        runs = self.walker(m, tcr())[1].walk().runs
        self.assertEqual([(r.start, r.end, r.leaf_size, r.leaves) for r in runs],
                         [(0, 0x200000, 0x200000, 1), (0x200000, 0x202000, 0x1000, 2)])
        runs[0].clip(0x1000, 0x3000)
        self.assertEqual((runs[0].start, runs[0].end, runs[0].pa), (0x1000, 0x3000, 0x1000))

    def test_hierarchical_table_attributes_apply_below(self):
        m = Memory()
        ap_table_no_el0, ap_table_ro, uxn_table, pxn_table = 1 << 61, 1 << 62, 1 << 60, 1 << 59
        m.put(0x1000, 0, 0x2000 | TABLE | ap_table_ro | uxn_table)
        m.put(0x2000, 0, 0x3000 | TABLE | ap_table_no_el0 | pxn_table)
        m.put(0x3000, 0, 0x4000 | TABLE)
        m.put(0x4000, 0, 0x9000 | PAGE | NORMAL_LEAF | AP_EL0)   # EL0 RW at the leaf
        steps, pa = self.walker(m, tcr())[1].translate(0x10)
        self.assertEqual(pa, 0x9010)
        self.assertEqual(steps[-1].attributes.permissions(), ("r--", "---"))

    def test_el0_writable_is_never_el1_executable(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x3000, 0, 0x4000 | TABLE)
        m.put(0x4000, 0, 0x9000 | PAGE | NORMAL_LEAF | AP_EL0)
        attributes = self.walker(m, tcr())[1].translate(0)[0][-1].attributes
        self.assertEqual(attributes.permissions(), ("rw-", "rwx"))

    def test_memory_types_through_mair(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 0, 0x0 | BLOCK | AF | 1 << 2)           # AttrIndx 1
        m.put(0x2000, 1, 0x40000000 | BLOCK | AF | 2 << 2)    # AttrIndx 2
        leaves = self.walker(m, tcr())[1].walk(keep_leaves=True).leaves
        self.assertEqual([l.attributes.memory for l in leaves], ["device-nGnRnE", "normal-NC"])

    def test_ttbr1_half_with_asid_and_tbi(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 1, 0x40000000 | BLOCK | NORMAL_LEAF)
        space, walker = self.walker(m, tcr(tbi1=True), half="ttbr1", root=(0x42 << 48) | 0x1000)
        self.assertEqual(space.table_pa, 0x1000)
        self.assertEqual(walker.translate(0xFFFF000040000010)[1], 0x40000010)
        self.assertEqual(walker.translate(0x5AFF000040000010)[1], 0x40000010)   # tagged
        with self.assertRaises(A.TranslationError):
            self.walker(m, tcr(tbi1=False), half="ttbr1")[1].translate(0x5AFF000040000010)

    def test_16k_granule(self):
        m = Memory()
        # 48-bit VA, 16K: L0 has 2 entries (bit 47), L1 [46:36], L2 [35:25] (32M blocks), L3 [24:14].
        m.put(0x4000, 0, 0x8000 | TABLE)
        m.put(0x8000, 0, 0xC000 | TABLE)
        m.put(0xC000, 1, 0x2000000 | BLOCK | NORMAL_LEAF)
        m.put(0xC000, 0, 0x10000 | TABLE)
        m.put(0x10000, 3, 0x100000 | PAGE | NORMAL_LEAF)
        space, walker = self.walker(m, tcr(granule=14), root=0x4000)
        self.assertEqual((space.start_level, space.top_entries), (0, 2))
        self.assertEqual(walker.translate(0xC123)[1], 0x100123)
        self.assertEqual(walker.translate(0x2001234)[1], 0x2001234)
        leaves = walker.walk(keep_leaves=True).leaves
        self.assertEqual([(l.va, l.size) for l in leaves], [(0xC000, 0x4000), (0x2000000, 0x2000000)])

    def test_64k_granule_starts_at_level_1(self):
        m = Memory()
        # 48-bit VA, 64K: L1 [47:42] (64 entries), L2 [41:29] (512M blocks), L3 [28:16].
        m.put(0x10000, 0, 0x20000 | TABLE)
        m.put(0x20000, 1, 0x20000000 | BLOCK | NORMAL_LEAF)
        m.put(0x20000, 0, 0x30000 | TABLE)
        m.put(0x30000, 2, 0x50000 | PAGE | NORMAL_LEAF)
        space, walker = self.walker(m, tcr(granule=16), root=0x10000)
        self.assertEqual((space.start_level, space.top_entries), (1, 64))
        self.assertEqual(walker.translate(0x2ABCD)[1], 0x5ABCD)
        self.assertEqual(walker.translate(0x20000010)[1], 0x20000010)

    def test_39_bit_va_starts_at_level_1(self):
        m = Memory()
        m.put(0x1000, 2, 0x80000000 | BLOCK | NORMAL_LEAF)
        space, walker = self.walker(m, tcr(t0sz=25))
        self.assertEqual(space.start_level, 1)
        self.assertEqual(walker.translate(0x80000042)[1], 0x80000042)
        with self.assertRaises(A.TranslationError):
            walker.translate(1 << 40)

    def test_malformed_descriptors_are_reported_not_followed(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x1000, 1, 0x40000000 | BLOCK | NORMAL_LEAF)           # no L0 blocks with 4K
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x2000, 1, (1 << 45) | BLOCK | NORMAL_LEAF)            # beyond the 40-bit PA size
        m.put(0x3000, 0, 0x4000 | TABLE)
        m.put(0x4000, 0, 0x9000 | BLOCK | NORMAL_LEAF)               # 0b01 at level 3 is reserved
        m.put(0x4000, 1, 0xA000 | PAGE | NORMAL_LEAF)
        _, walker = self.walker(m, tcr(ips=2))
        result = walker.walk(keep_leaves=True)
        self.assertEqual([(l.va, l.pa) for l in result.leaves], [(0x1000, 0xA000)])
        self.assertEqual([(p.level, p.va) for p in result.problems], [(3, 0), (1, 0x40000000), (0, 1 << 39)])
        self.assertIn("level 3", result.problems[0].what)
        self.assertIn("address size", result.problems[1].what)
        steps, pa = walker.translate(0x10)
        self.assertIsNone(pa)
        self.assertEqual(steps[-1].kind, "reserved")

    def test_disabled_walks_and_reserved_granule(self):
        with self.assertRaises(A.TranslationError):
            self.walker(Memory(), tcr(epd0=True))[1].translate(0)
        with self.assertRaises(A.TranslationError):
            A.AddressSpace(0b11 << 14, "ttbr0", 0)


if __name__ == "__main__":
    unittest.main()
