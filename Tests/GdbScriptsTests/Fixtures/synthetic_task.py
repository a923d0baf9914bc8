"""Test fixture (sourced into gdb after gdb/mmdbg.py, with the kernel stopped
at `main`): writes a synthetic user task and its 4-level tables into guest
memory, and corrupts them on request, so the task views and mm-check run
against the real stub before the kernel creates tasks of its own.

Everything lives in RAM the stopped kernel does not use (FIXTURE_BASE and
up); the task goes into a free slot of mm_tasks. Offsets come from the
generated layout, like the code under test; the layout itself is checked by
the layout tests.
"""
import struct

import gdb

import mm_layout
import mm_target
import mmdbg_layout as L

FIXTURE_BASE = 0x44000000          # tables from here, one page each
FIXTURE_PAGES = 0x44100000         # user pages from here
SYNTHETIC_PID = 7
SYNTHETIC_SLOT = 3
USER_DATA_FLAGS = L.MM_TD_USER_PAGE_FLAGS_DEFAULT | L.MM_TD_USER_XN
# (uva, page index from FIXTURE_PAGES, flags): text, two data pages, heap, top of stack.
MAPPINGS = [
    (L.MM_TEXT_BASE, 0, L.MM_TD_USER_TEXT_FLAGS),
    (L.MM_DATA_BASE, 1, USER_DATA_FLAGS),
    (L.MM_DATA_BASE + L.MM_PAGE_SIZE, 2, USER_DATA_FLAGS),
    (L.MM_HEAP_BASE, 4, USER_DATA_FLAGS),
    (L.MM_STACK_TOP - L.MM_PAGE_SIZE, 5, USER_DATA_FLAGS),
]

_state = {}


def _page_pa(index):
    return FIXTURE_PAGES + index * L.MM_PAGE_SIZE


def _build_tables():
    """{table PA: [512 descriptors]}, the pgd first, and {uva: L3 entry PA}."""
    tables = {FIXTURE_BASE: [0] * 512}
    leaf_entries = {}
    for uva, index, flags in MAPPINGS:
        table = FIXTURE_BASE
        for shift in (39, 30, 21):
            slot = (uva >> shift) & 511
            if not tables[table][slot]:
                new = FIXTURE_BASE + len(tables) * L.MM_PAGE_SIZE
                tables[new] = [0] * 512
                tables[table][slot] = new | L.MM_TD_USER_TABLE_FLAGS
            table = tables[table][slot] & L.MM_PAGE_MASK & ((1 << 48) - 1)
        slot = (uva >> 12) & 511
        tables[table][slot] = _page_pa(index) | flags
        leaf_entries[uva] = table + slot * 8
    return tables, leaf_entries


def build_synthetic_task():
    tables, leaf_entries = _build_tables()
    with mm_target.physical_memory():
        for pa, entries in tables.items():
            mm_target.write_memory(pa, struct.pack("<512Q", *entries))
        for _, index, _ in MAPPINGS:
            mm_target.write_memory(_page_pa(index), bytes(range(64)))
    size = mm_layout.sizeof("mm_task")
    task = bytearray(size)

    def put(struct_name, member, value, base=0, index=0):
        offset, element, count, kind = L.STRUCTS[struct_name][1][member]
        fmt = {8: "Q" if kind == "u" else "q"}[element]
        struct.pack_into("<" + fmt, task, base + offset + index * element, value)

    put("mm_task", "state", L.MM_TASK_RUNNABLE)
    put("mm_task", "pid", SYNTHETIC_PID)
    put("mm_task", "parent_pid", 1)
    name_offset = mm_layout.offsetof("mm_task", "name")
    task[name_offset:name_offset + 9] = b"synthetic"
    mm = mm_layout.offsetof("mm_task", "mm")
    put("mm_struct", "pgd", FIXTURE_BASE, base=mm)
    for i, pa in enumerate(tables):
        put("mm_struct", "kernel_pages", pa, base=mm, index=i)
    user_pages = mm + mm_layout.offsetof("mm_struct", "user_pages")
    for i, (uva, index, flags) in enumerate(MAPPINGS):
        entry = user_pages + i * mm_layout.sizeof("mm_user_page")
        put("mm_user_page", "pa", _page_pa(index), base=entry)
        put("mm_user_page", "uva", uva, base=entry)
        put("mm_user_page", "flags", flags, base=entry)
    put("mm_struct", "brk", L.MM_HEAP_BASE + L.MM_PAGE_SIZE, base=mm)
    address = mm_target.symbol_address("mm_tasks") + SYNTHETIC_SLOT * size
    mm_target.write_memory(address, bytes(task))
    _state.update(tables=tables, leaf_entries=leaf_entries, task=address)
    gdb.write("synthetic task pid %d: pgd 0x%x, %d tables, %d pages\n"
              % (SYNTHETIC_PID, FIXTURE_BASE, len(tables), len(MAPPINGS)))


def _write_phys_u64(pa, value):
    with mm_target.physical_memory():
        mm_target.write_memory(pa, struct.pack("<Q", value))


def _leaf(uva):
    with mm_target.physical_memory():
        return struct.unpack("<Q", mm_target.read_memory(_state["leaf_entries"][uva], 8))[0]


def corrupt_pte_address(uva, new_pa):
    """The PTE maps another page than user_pages records."""
    descriptor = _leaf(uva)
    _write_phys_u64(_state["leaf_entries"][uva], (descriptor & ~L.MM_PAGE_MASK) | (descriptor & (0xFFF << 52)) | new_pa)


def make_writable(uva):
    """Clears AP[2] (read-only) in the PTE: text becomes writable and stays executable."""
    _write_phys_u64(_state["leaf_entries"][uva], _leaf(uva) & ~L.MM_TD_AP_RO)


def poison_page(index):
    with mm_target.physical_memory():
        mm_target.write_memory(_page_pa(index), struct.pack("<Q", L.MM_PAGE_POISON) * 8)


def forget_last_table():
    """Drops the last table from kernel_pages."""
    mm = _state["task"] + mm_layout.offsetof("mm_task", "mm")
    slot = len(_state["tables"]) - 1
    mm_target.write_memory(mm + mm_layout.offsetof("mm_struct", "kernel_pages") + 8 * slot, bytes(8))


def free_list_with(page_indices):
    """A page pool over the fixture pages whose free list holds these pages."""
    pages = [_page_pa(i) for i in page_indices]
    with mm_target.physical_memory():
        for pa, nxt in zip(pages, pages[1:] + [0]):
            mm_target.write_memory(pa + 8, struct.pack("<Q", nxt))
    pool = bytearray(mm_layout.sizeof("mm_page_pool"))
    for member, value in (("base_pa", FIXTURE_PAGES), ("page_count", 16), ("free_pages", len(pages)),
                          ("free_list", pages[0] if pages else 0)):
        struct.pack_into("<Q", pool, mm_layout.offsetof("mm_page_pool", member), value)
    mm_target.write_memory(mm_target.symbol_address("mm_pool"), bytes(pool))


def build_paged_task(l3_tables, pid=8, slot=4, base=0x45000000):
    """A task whose tables map `l3_tables` * 2 MiB of VA from 0 with 4 KiB
    pages onto contiguous PAs (a page-granular linear map), for timing mm-pt:
    1 + 1 + ceil(l3_tables / 512) + l3_tables tables."""
    l2_count = -(-l3_tables // 512)
    l0, l1 = base, base + L.MM_PAGE_SIZE
    l2s = [base + (2 + i) * L.MM_PAGE_SIZE for i in range(l2_count)]
    l3s = [base + (2 + l2_count + i) * L.MM_PAGE_SIZE for i in range(l3_tables)]
    flags = L.MM_TD_USER_PAGE_FLAGS_DEFAULT | L.MM_TD_USER_XN
    with mm_target.physical_memory():
        mm_target.write_memory(l0, struct.pack("<512Q", *([l1 | L.MM_TD_USER_TABLE_FLAGS] + [0] * 511)))
        l1_entries = [pa | L.MM_TD_USER_TABLE_FLAGS for pa in l2s] + [0] * (512 - l2_count)
        mm_target.write_memory(l1, struct.pack("<512Q", *l1_entries))
        for i, l2 in enumerate(l2s):
            chunk = l3s[i * 512:(i + 1) * 512]
            mm_target.write_memory(l2, struct.pack("<512Q", *([pa | L.MM_TD_USER_TABLE_FLAGS for pa in chunk]
                                                             + [0] * (512 - len(chunk)))))
        for i, l3 in enumerate(l3s):
            first = L.MM_RAM_BASE + i * 0x200000
            mm_target.write_memory(l3, struct.pack("<512Q", *[(first + j * 0x1000) | flags for j in range(512)]))
    task = bytearray(mm_layout.sizeof("mm_task"))
    struct.pack_into("<q", task, mm_layout.offsetof("mm_task", "state"), L.MM_TASK_RUNNABLE)
    struct.pack_into("<q", task, mm_layout.offsetof("mm_task", "pid"), pid)
    struct.pack_into("<Q", task, mm_layout.offsetof("mm_task", "mm"), l0)
    mm_target.write_memory(mm_target.symbol_address("mm_tasks") + slot * len(task), bytes(task))
    gdb.write("paged task pid %d: %d tables\n" % (pid, 2 + l2_count + l3_tables))
