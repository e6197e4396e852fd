"""OR-Tools as the dispatch benchmarks run it (the brief's comparison): parallel cheapest
insertion, then guided local search, for a time limit. OR-Tools is a dev dependency and is
imported only when a benchmark solves with it."""

from __future__ import annotations

from typing import Any


def solve(routing: Any, seconds: float) -> Any:
    """``routing.SolveWithParameters`` with the comparison's settings; None: no solution."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    return routing.SolveWithParameters(params)
