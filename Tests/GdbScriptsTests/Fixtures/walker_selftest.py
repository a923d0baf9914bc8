"""Synthetic-memory tests of gdb/mm_aarch64.py (pure Python, no gdb): every
granule, blocks at each legal level, hierarchical table attributes, TBI,
ASID bits in a TTBR, malformed descriptors, and every shared walker vector
in Tests/Vectors/translation (expected values from Inspect, the Swift
walker). Run by GdbScriptsTests with PYTHONPATH=gdb:
python3 -m unittest walker_selftest. It prints `walker vectors checked: N`."""
import glob
import json
import os
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
        translation = walker.translate(0x5123)
        self.assertEqual(translation.pa, 0x9123)
        self.assertEqual([s.level for s in translation.steps], [0, 1, 2, 3])
        self.assertEqual(walker.translate(0x40001234).pa, 0x40001234)
        self.assertEqual(walker.translate(0x600abc).pa, 0x80200abc)
        unmapped = walker.translate(0x7000)
        self.assertIsNone(unmapped.pa)
        self.assertEqual((unmapped.fault.kind, unmapped.fault.level), ("translation", 3))
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
        translation = self.walker(m, tcr())[1].translate(0x10)
        self.assertEqual(translation.pa, 0x9010)
        self.assertEqual(translation.steps[-1].attributes.permissions(), ("r--", "---"))

    def test_el0_writable_is_never_el1_executable(self):
        m = Memory()
        m.put(0x1000, 0, 0x2000 | TABLE)
        m.put(0x2000, 0, 0x3000 | TABLE)
        m.put(0x3000, 0, 0x4000 | TABLE)
        m.put(0x4000, 0, 0x9000 | PAGE | NORMAL_LEAF | AP_EL0)
        attributes = self.walker(m, tcr())[1].translate(0).steps[-1].attributes
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
        self.assertEqual(walker.translate(0xFFFF000040000010).pa, 0x40000010)
        self.assertEqual(walker.translate(0x5AFF000040000010).pa, 0x40000010)   # tagged
        untagged = self.walker(m, tcr(tbi1=False), half="ttbr1")[1].translate(0x5AFF000040000010)
        self.assertEqual((untagged.pa, untagged.fault.kind), (None, "outsideAddressSpace"))

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
        self.assertEqual(walker.translate(0xC123).pa, 0x100123)
        self.assertEqual(walker.translate(0x2001234).pa, 0x2001234)
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
        self.assertEqual(walker.translate(0x2ABCD).pa, 0x5ABCD)
        self.assertEqual(walker.translate(0x20000010).pa, 0x20000010)

    def test_39_bit_va_starts_at_level_1(self):
        m = Memory()
        m.put(0x1000, 2, 0x80000000 | BLOCK | NORMAL_LEAF)
        space, walker = self.walker(m, tcr(t0sz=25))
        self.assertEqual(space.start_level, 1)
        self.assertEqual(walker.translate(0x80000042).pa, 0x80000042)
        outside = walker.translate(1 << 40)
        self.assertEqual((outside.pa, outside.fault.kind, outside.fault.level), (None, "outsideAddressSpace", None))

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
        # Breadth first, like Inspect: level 0's problem, then level 1's, then level 3's.
        self.assertEqual([(p.level, p.va, p.kind) for p in result.problems],
                         [(0, 1 << 39, "reserved"), (1, 0x40000000, "addressSize"), (3, 0, "reserved")])
        self.assertIn("level 3", result.problems[2].what)
        self.assertIn("address size", result.problems[1].what)
        translation = walker.translate(0x10)
        self.assertIsNone(translation.pa)
        self.assertEqual(translation.steps[-1].kind, "reserved")
        self.assertEqual((translation.fault.kind, translation.fault.level), ("malformedDescriptor", 3))

    def test_disabled_walks_and_reserved_granule(self):
        disabled = self.walker(Memory(), tcr(epd0=True))[1].translate(0)
        self.assertEqual((disabled.pa, disabled.fault.kind, disabled.steps), (None, "walkDisabled", []))
        with self.assertRaises(A.TranslationError):
            A.AddressSpace(0b11 << 14, "ttbr0", 0)


VECTOR_DIR = os.environ.get("MMDBG_WALKER_VECTORS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "Vectors", "translation")


class VectorMemory:
    """A vector's sparse physical memory; ranges listed as unreadable fail like device memory."""

    def __init__(self, vector):
        self.words = {int(pa, 16): int(value, 16) for pa, value in vector["memory"].items()}
        self.unreadable = [(int(first, 16), int(last, 16)) for first, last in vector["unreadable"]]

    def read(self, pa, length):
        if any(first <= pa + length - 1 and pa <= last for first, last in self.unreadable):
            raise A.UnreadableTable("E14 (synthetic failure)")
        return b"".join(struct.pack("<Q", self.words.get(pa + 8 * i, 0)) for i in range(length // 8))


def _hex(value):
    return None if value is None else "0x%x" % value


def attributes_as_vector(attributes):
    """mm_aarch64.Attributes in the vectors' form (Inspect's MappingAttributes)."""
    el1, el0 = attributes.permissions()
    return {"el1": el1, "el0": el0, "memoryAttr": _hex(attributes.memory_attr),
            "sh": A.SHAREABILITY_NAMES[attributes.shareability], "af": attributes.af, "nG": attributes.ng,
            "ns": attributes.ns, "cont": attributes.contiguous, "dbm": attributes.dbm}


HALF_NAMES = {"ttbr0": "TTBR0", "ttbr1": "TTBR1"}


def python_answers(vector):
    """What gdb/mm_aarch64.py answers for a vector's inputs, in the vector's form."""
    registers = {name: int(value, 16) for name, value in vector["registers"].items()}
    memory = VectorMemory(vector)
    spaces = {half: A.AddressSpace(registers["tcr"], half, registers[half], mair=registers["mair"],
                                   sctlr=registers["sctlr"]) for half in ("ttbr0", "ttbr1")}
    queries = []
    for query in vector["queries"]:
        va = int(query["va"], 16)
        half = "ttbr1" if va >> 55 & 1 else "ttbr0"
        t = A.TranslationTableWalker(spaces[half], memory.read).translate(va)
        fault = None if t.fault is None else {"kind": t.fault.kind, "level": t.fault.level}
        outside = t.fault is not None and t.fault.kind in ("outsideAddressSpace", "walkDisabled")
        queries.append({"va": _hex(va), "half": None if outside else HALF_NAMES[half], "pa": _hex(t.pa),
                        "leafLevel": t.level, "leafSize": _hex(t.size),
                        "attributes": None if t.attributes is None else attributes_as_vector(t.attributes),
                        "fault": fault,
                        "steps": [[s.level, _hex(s.entry_pa), _hex(s.descriptor), s.kind] for s in t.steps]})
    runs, problems = [], []
    tables, blocks, pages = [0, 0, 0, 0], [0, 0, 0, 0], 0
    for half in ("ttbr0", "ttbr1"):
        result = A.TranslationTableWalker(spaces[half], memory.read).walk()
        for run in result.runs:
            runs.append({"half": HALF_NAMES[half], "va": _hex(run.start), "size": _hex(run.end - run.start),
                         "pa": _hex(run.pa), "leafLevel": run.level, "leafSize": _hex(run.leaf_size),
                         "leafCount": run.leaves, "attributes": attributes_as_vector(run.attributes)})
        for p in result.problems:
            problems.append({"half": HALF_NAMES[half], "level": p.level, "entry": _hex(p.entry_pa), "va": _hex(p.va),
                             "raw": _hex(p.descriptor), "kind": p.kind})
        for level, pas in result.tables.items():
            tables[level] += len(pas)
        level_blocks, level_pages = result.statistics()
        for level, count in level_blocks.items():
            blocks[level] += count
        pages += level_pages
    return queries, {"tablesPerLevel": tables, "blocksPerLevel": blocks, "pages": pages, "runs": runs,
                     "problems": problems}


class SharedVectorTests(unittest.TestCase):
    """gdb/mm_aarch64.py against every vector Inspect wrote (scripts: `swift run gen-walker-vectors`)."""

    def test_every_shared_vector(self):
        files = sorted(glob.glob(os.path.join(VECTOR_DIR, "*.json")))
        self.assertTrue(files, "no walker vectors in %s" % VECTOR_DIR)
        checked = 0
        for path in files:
            with open(path) as handle:
                vector = json.load(handle)
            with self.subTest(vector=os.path.basename(path)):
                queries, dump = python_answers(vector)
                for expected, got in zip(vector["queries"], queries):
                    self.assertEqual(got, expected, "VA %s" % expected["va"])
                self.assertEqual(len(queries), len(vector["queries"]))
                expected_dump = dict(vector["dump"])
                expected_dump["problems"] = [{key: value for key, value in problem.items() if key != "detail"}
                                             for problem in expected_dump["problems"]]
                for key in ("tablesPerLevel", "blocksPerLevel", "pages", "problems"):
                    self.assertEqual(dump[key], expected_dump[key], key)
                for index, (expected, got) in enumerate(zip(expected_dump["runs"], dump["runs"])):
                    self.assertEqual(got, expected, "run %d" % index)
                self.assertEqual(len(dump["runs"]), len(expected_dump["runs"]), "runs")
                checked += 1
        print("\nwalker vectors checked: %d" % checked)
        self.assertEqual(checked, len(files))


if __name__ == "__main__":
    unittest.main()
