"""Which tables are applied together, and in which order: a pure planner over foreign keys.

``plan_units(tables, edges)`` takes the tables of one direction (config order) and the foreign
keys between them (``Edge``, reflected on either side by ``sync/fks.py``) and returns the apply
units, each a list of tables parents-first:

* tables linked by a foreign key (directly or through other tables) form ONE unit, applied in
  one transaction, so a parent's delete and its children's deletes (or a child's insert and its
  parent's insert) always land together; a ``group`` of the config joins its tables too;
* inside a unit, parents come before children (the writer deletes in the reverse order); the
  config's order breaks ties, and orders the units;
* unrelated tables stay separate units, as before.

Refused (``PlanProblem`` lines, each naming the tables and the constraint): two groups that
foreign keys would join into one transaction; a cycle of foreign keys between tables (a table
that references itself is fine: the writer orders its rows); a parent whose deletes propagate
while the child's are ignored, where the written side's constraint does not cascade.
"""
from __future__ import annotations

import heapq
from collections import defaultdict, deque
from dataclasses import dataclass

from sinc_pipeline.settings import TableConfig

CASCADING = {"CASCADE", "SET NULL", "SET DEFAULT"}


@dataclass(frozen=True)
class Edge:
    """One foreign key between two synced tables (config names, logical column names)."""
    child: str
    parent: str
    columns: tuple[str, ...]
    referred: tuple[str, ...]
    name: str | None = None
    side: str = "origin"           # the database it was declared in: "origin" or "store"
    ondelete: str | None = None

    def label(self) -> str:
        cols, refs = ", ".join(self.columns), ", ".join(self.referred)
        name = f"{self.name} " if self.name else ""
        where = "origem" if self.side == "origin" else "loja"
        return f"{name}{self.child}({cols}) → {self.parent}({refs}) [{where}]"


def written_side(direction: str) -> str:
    return "store" if direction == "receive" else "origin"


def plan_problems(tables: list[TableConfig], edges: list[Edge]) -> list[str]:
    """Every contradiction between the config and the foreign keys (empty: the plan is sound)."""
    return [text for _, text in table_problems(tables, edges)]


def table_problems(tables: list[TableConfig], edges: list[Edge]) -> list[tuple[str, str]]:
    """``plan_problems`` as (the table it is about — a child of the constraint —, the text)."""
    names = {t.name: t for t in tables}
    edges = [e for e in edges if e.child in names and e.parent in names]
    problems: list[tuple[str, str]] = []
    comps = _components(tables, edges)
    for comp in comps:
        groups = sorted({names[n].group for n in comp if names[n].group})
        if len(groups) > 1:
            a, b = ([n for n in comp if names[n].group == g][0] for g in groups[:2])
            path = ", ".join(e.label() for e in _path(a, b, edges))
            problems.append((b,
                f"os grupos {groups[0]!r} e {groups[1]!r} estão ligados por chave estrangeira ({path}): as tabelas "
                f"{', '.join(sorted(comp))} precisam ser gravadas numa só transação. Dica: ponha-as no mesmo grupo, "
                "ou retire 'group' e deixe a ordem com o sincronismo"))
    for cycle in _cycles(tables, edges):
        labels = "; ".join(e.label() for e in cycle)
        problems.append((cycle[0].child, f"ciclo de chaves estrangeiras entre tabelas ({labels}): não há ordem de "
                         "gravação que respeite todas. Dica: retire uma das restrições no banco gravado, ou exclua a "
                         "coluna (exclude)"))
    direction = tables[0].direction if tables else "receive"
    for e in edges:
        child, parent = names[e.child], names[e.parent]
        if (e.child != e.parent and e.side == written_side(direction) and parent.delete_policy == "propagate"
                and child.delete_policy == "ignore" and (e.ondelete or "").upper() not in CASCADING):
            problems.append((e.child, f"a tabela {e.parent!r} propaga exclusões mas {e.child!r}, que a referencia "
                                      f"({e.label()}), as ignora: excluir um pai deixaria filhos órfãos e a gravação "
                                      "falharia. Dica: use o mesmo 'deletes' nas duas tabelas, ou ON DELETE CASCADE "
                                      "na restrição"))
    return problems


def plan_units(tables: list[TableConfig], edges: list[Edge]) -> list[list[TableConfig]]:
    """The apply units of one direction (see the module's docstring); assumes ``plan_problems`` is empty."""
    names = {t.name: t for t in tables}
    edges = [e for e in edges if e.child in names and e.parent in names and e.child != e.parent]
    order = {t.name: i for i, t in enumerate(tables)}
    units = []
    for comp in _components(tables, edges):
        units.append([names[n] for n in _topological(sorted(comp, key=order.get), edges, order)])
    return sorted(units, key=lambda u: min(order[t.name] for t in u))


def linked(unit: list[TableConfig], edges: list[Edge]) -> bool:
    """Whether any foreign key (a self-reference too) joins tables of ``unit``."""
    names = {t.name for t in unit}
    return any(e.child in names and e.parent in names for e in edges)


def _components(tables: list[TableConfig], edges: list[Edge]) -> list[set[str]]:
    parent = {t.name: t.name for t in tables}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    by_group: dict[str, str] = {}
    for t in tables:
        if t.group:
            union(t.name, by_group.setdefault(t.group, t.name))
    for e in edges:
        union(e.child, e.parent)
    comps: dict[str, set[str]] = defaultdict(set)
    for t in tables:
        comps[find(t.name)].add(t.name)
    return list(comps.values())


def _topological(comp: list[str], edges: list[Edge], order: dict[str, int]) -> list[str]:
    """Parents before children; among tables free at the same time, the config's order."""
    members = set(comp)
    parents: dict[str, set[str]] = {n: set() for n in comp}
    children: dict[str, set[str]] = {n: set() for n in comp}
    for e in edges:
        if e.child in members and e.parent in members and e.child != e.parent:
            parents[e.child].add(e.parent)
            children[e.parent].add(e.child)
    ready = [(order[n], n) for n in comp if not parents[n]]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        out.append(n)
        for c in children[n]:
            parents[c].discard(n)
            if not parents[c]:
                heapq.heappush(ready, (order[c], c))
    out += [n for n in comp if n not in out]   # a cycle (refused by plan_problems): config order
    return out


def _cycles(tables: list[TableConfig], edges: list[Edge]) -> list[list[Edge]]:
    """One cycle of foreign keys (self-references aside) per strongly connected set of tables."""
    out_edges: dict[str, list[Edge]] = defaultdict(list)
    for e in edges:
        if e.child != e.parent:
            out_edges[e.child].append(e)
    seen: set[str] = set()
    cycles = []
    for start in (t.name for t in tables):
        if start in seen:
            continue
        path = _path(start, start, edges, directed=True, out_edges=out_edges)
        if path:
            cycles.append(path)
            seen |= {e.child for e in path}
    return cycles


def _path(a: str, b: str, edges: list[Edge], directed: bool = False, out_edges=None) -> list[Edge]:
    """The edges of a shortest path from ``a`` to ``b`` (child → parent when ``directed``); [] if none."""
    if out_edges is None:
        out_edges = defaultdict(list)
        for e in edges:
            if e.child != e.parent:
                out_edges[e.child].append(e)
                if not directed:
                    out_edges[e.parent].append(e)
    prev: dict[str, Edge] = {}
    queue, visited = deque([a]), {a} if a != b else set()
    while queue:
        n = queue.popleft()
        for e in out_edges[n]:
            m = e.parent if e.child == n else e.child
            if m in visited:
                continue
            prev[m] = e
            if m == b:
                path, cur = [], b
                while True:
                    path.append(prev[cur])
                    cur = prev[cur].child if prev[cur].parent == cur else prev[cur].parent
                    if cur == a:
                        return path[::-1]
            visited.add(m)
            queue.append(m)
    return []


def parents_first(names: list[str], pairs: list[tuple[str, str]]) -> list[str]:
    """``names`` ordered so that each ``(child, parent)`` pair's parent comes first (ties: the
    given order; a cycle keeps it). For loads that write whole tables (restore)."""
    edges = [Edge(c, p, (), ()) for c, p in pairs if c in names and p in names and c != p]
    return _topological(list(names), edges, {n: i for i, n in enumerate(names)})
