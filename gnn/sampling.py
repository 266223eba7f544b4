"""Neighbour sampling for mini-batch training of graph encoders on large graphs.

An equivalent of PyG's ``LinkNeighborLoader`` that needs neither ``pyg-lib`` nor ``torch-sparse``
(their wheels are not on PyPI for every torch build): vectorized torch ops over a CSR of incoming
edges. For seed nodes (the heads, tails and negatives of a batch) it samples up to ``fanouts[0]``
incoming edges per seed, then up to ``fanouts[1]`` per newly reached node, and so on, and returns the
union subgraph with local ids, seeds first. The encoder runs all its layers on that subgraph (as
PyG's loaders do), so memory per step depends on batch size and fanouts, not on graph size.
"""

from __future__ import annotations

import torch
from torch import Tensor


class NeighborSampler:
    """Samples subgraphs around seed nodes.

    Args:
        edge_index: ``[2, E]`` message edges (row 0 source, row 1 target).
        edge_type: ``[E]`` relation of each edge.
        num_nodes: N.
        fanouts: incoming edges sampled per node and hop (one entry per encoder layer).
    """

    def __init__(self, edge_index: Tensor, edge_type: Tensor, num_nodes: int, fanouts: list[int]) -> None:
        src, dst = edge_index.cpu()
        order = torch.argsort(dst, stable=True)
        self.src, self.dst, self.type = src[order], dst[order], edge_type.cpu()[order]
        self.ptr = torch.cat([torch.zeros(1, dtype=torch.long),
                              torch.bincount(dst, minlength=num_nodes).cumsum(0)])
        self.num_nodes, self.fanouts = num_nodes, list(fanouts)
        self._local = torch.full((num_nodes,), -1, dtype=torch.long)  # reused global -> local map

    def sample(self, seeds: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Subgraph around ``seeds``.

        Args:
            seeds: ``[S]`` distinct global node ids.

        Returns:
            ``nodes[n]`` global ids (``nodes[:S] == seeds``), ``edge_index[2, e]`` in local ids and
            ``edge_type[e]``.
        """
        seeds = seeds.cpu()
        local = self._local
        local[seeds] = torch.arange(len(seeds))
        nodes = [seeds]
        count = len(seeds)
        frontier = seeds
        edge_ids = []
        try:
            for fanout in self.fanouts:
                if len(frontier) == 0:
                    break
                start = self.ptr[frontier]
                deg = self.ptr[frontier + 1] - start
                take = deg.clamp(max=fanout)
                rep = torch.repeat_interleave(torch.arange(len(frontier)), take)
                pos = torch.arange(len(rep)) - (take.cumsum(0) - take)[rep]
                big = deg[rep] > fanout
                rand = (torch.rand(len(rep), generator=generator) * deg[rep]).long()
                eid = start[rep] + torch.where(big, rand, pos)
                eid = torch.unique(eid)  # sampling with replacement may repeat an edge
                edge_ids.append(eid)
                new = torch.unique(self.src[eid])
                new = new[local[new] < 0]
                local[new] = torch.arange(count, count + len(new))
                count += len(new)
                nodes.append(new)
                frontier = new
            eid = torch.cat(edge_ids) if edge_ids else torch.empty(0, dtype=torch.long)
            all_nodes = torch.cat(nodes)
            edge_index = torch.stack([local[self.src[eid]], local[self.dst[eid]]])
            return all_nodes, edge_index, self.type[eid]
        finally:
            local[torch.cat(nodes)] = -1
