"""The gdb/ modules import one another as a DAG (no cycle, not even through an
import inside a function). Pure Python, no gdb: run by GdbScriptsTests with
PYTHONPATH=gdb: python3 -m unittest gdb_import_graph."""
import ast
import glob
import os
import unittest

GDB_DIR = os.environ.get("MMDBG_GDB_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "gdb")


def imported_names(source):
    """Every module name an `import` or `from ... import` anywhere in `source` names."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def import_graph(directory):
    """{module: {gdb/ modules it imports}} for every gdb/*.py."""
    paths = sorted(glob.glob(os.path.join(directory, "*.py")))
    modules = {os.path.splitext(os.path.basename(path))[0]: path for path in paths}
    graph = {}
    for name, path in modules.items():
        with open(path) as handle:
            graph[name] = imported_names(handle.read()) & set(modules)
    return graph


def find_cycle(graph):
    """One cycle as [a, b, ..., a], or None when the graph is a DAG."""
    state = {}   # module -> "open" (on the path) or "done"
    path = []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


class ImportGraphTests(unittest.TestCase):
    def test_gdb_modules_import_one_another_without_a_cycle(self):
        graph = import_graph(GDB_DIR)
        self.assertIn("mm_pgtable", graph, "no gdb modules found in %s" % GDB_DIR)
        cycle = find_cycle(graph)
        self.assertIsNone(cycle, "import cycle: %s" % " -> ".join(cycle or []))
        print("\ngdb modules checked: %d, imports: %d" % (len(graph), sum(len(t) for t in graph.values())))

    def test_an_import_inside_a_function_counts(self):
        self.assertEqual(imported_names("import gdb\n\ndef f():\n    import mm_tasks\n    from mm_space import walk\n"),
                         {"gdb", "mm_tasks", "mm_space"})

    def test_a_cycle_is_found(self):
        self.assertEqual(find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}), ["a", "b", "c", "a"])
        self.assertEqual(find_cycle({"a": {"a"}}), ["a", "a"])
        self.assertIsNone(find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}))


if __name__ == "__main__":
    unittest.main()
