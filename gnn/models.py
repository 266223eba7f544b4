"""Link-prediction models behind one interface, chosen by name: KGE baselines and an R-GCN encoder.

Every model is a :class:`LinkPredictor`: an *encoder* gives entity representations ``z[N, D]`` (the
embedding table itself for the plain KGE models, message passing over the training graph for
:class:`RGCN`) and a *decoder* scores ``(head, relation, tail)``. Relation ``r + R`` is the inverse of
``r``; a reciprocal model (the default) answers head queries ``(?, r, t)`` as tail queries
``(t, r + R, ?)``, which is both faster and more accurate (Lacroix et al., 2018).

Decoders (complex-valued ones store ``[re | im]`` halves side by side in one vector):

* ``distmult``: ``<h, r, t>``; ``complex``: ``Re(<h, r, conj(t)>)``;
* ``rotate``: ``margin - ||h o e^{i theta_r} - t||``; ``transe``: ``-||h/|h| + r - t/|t|||_p``.

The KGE baselines are :mod:`torch_geometric.nn.kge` modules (TransE, DistMult, ComplEx, RotatE); the
decoders here reproduce their ``forward`` exactly (tested) but also score a query against every
entity at once (1-N scoring), which their API lacks.

Negative samplers corrupt the tail of a (possibly inverse) query: uniformly, or only among entities
whose type the relation's range allows (domain for inverse queries), from the schema or as observed.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kg.errors import UnknownComponentError

# --- decoders ----------------------------------------------------------------------------------------


def _halves(x: Tensor) -> tuple[Tensor, Tensor]:
    d = x.shape[-1] // 2
    return x[..., :d], x[..., d:]


class Decoder:
    """Scores queries ``q = query(z_anchor, w_rel)`` against candidate entity vectors.

    ``score(q, z)`` is elementwise over a batch (``[B, D] x [B, D] -> [B]``), ``score_all(q, Z)``
    is against every row of ``Z`` (``[B, D] x [N, D] -> [B, N]``).
    """

    name = ""
    complex_valued = False

    def __init__(self, margin: float = 0.0, p_norm: float = 1.0) -> None:
        self.margin, self.p_norm = margin, p_norm

    def relation_dim(self, dim: int) -> int:
        return 2 * dim if self.complex_valued else dim

    def prepare(self, z: Tensor) -> Tensor:
        return z

    def query_tail(self, zh: Tensor, wr: Tensor) -> Tensor:
        raise NotImplementedError

    def query_head(self, zt: Tensor, wr: Tensor) -> Tensor:
        raise NotImplementedError

    def score(self, q: Tensor, z: Tensor) -> Tensor:
        return (q * z).sum(-1)

    def score_all(self, q: Tensor, z: Tensor) -> Tensor:
        return q @ z.t()

    def regularizer(self, *factors: Tensor) -> Tensor:
        """N3 penalty (Lacroix et al., 2018): mean over the batch of the summed cubed moduli."""
        total = 0.0
        for x in factors:
            if self.complex_valued:
                re, im = _halves(x)
                x = torch.sqrt(re**2 + im**2 + 1e-12)
            total = total + x.abs().pow(3).sum(-1).mean()
        return total


class DistMultDecoder(Decoder):
    name = "distmult"

    def query_tail(self, zh, wr):
        return zh * wr

    query_head = query_tail


class ComplExDecoder(Decoder):
    name = "complex"
    complex_valued = True

    def query_tail(self, zh, wr):
        h_re, h_im = _halves(zh)
        r_re, r_im = _halves(wr)
        return torch.cat([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], -1)

    def query_head(self, zt, wr):
        # Re(<h, r, conj t>) = Re(<h, r conj(t)>) = h . [c_re | -c_im] with c = r * conj(t)
        t_re, t_im = _halves(zt)
        r_re, r_im = _halves(wr)
        return torch.cat([r_re * t_re + r_im * t_im, r_re * t_im - r_im * t_re], -1)


class _DistanceDecoder(Decoder):
    p = 2.0

    def score(self, q, z):
        return self.margin - torch.linalg.vector_norm(q - z, ord=self.p, dim=-1)

    def score_all(self, q, z):
        if self.p == 2.0:  # cdist's matmul path is much faster; clamp guards tiny negative round-off
            sq = (q * q).sum(-1, keepdim=True) - 2 * q @ z.t() + (z * z).sum(-1)
            return self.margin - sq.clamp_min(0).sqrt()
        return self.margin - torch.cdist(q.unsqueeze(0), z.unsqueeze(0), p=self.p).squeeze(0)


class RotatEDecoder(_DistanceDecoder):
    """Relation vectors are phases ``theta[d]``; distance is the L2 norm over all re/im parts (as PyG)."""

    name = "rotate"
    complex_valued = True

    def relation_dim(self, dim: int) -> int:
        return dim

    def _rotate(self, z, theta):
        re, im = _halves(z)
        c, s = torch.cos(theta), torch.sin(theta)
        return torch.cat([c * re - s * im, c * im + s * re], -1)

    def query_tail(self, zh, wr):
        return self._rotate(zh, wr)

    def query_head(self, zt, wr):
        return self._rotate(zt, -wr)

    def regularizer(self, *factors):
        return super().regularizer(*factors[:1], *factors[2:])  # phases are bounded; skip them


class TransEDecoder(_DistanceDecoder):
    name = "transe"

    def __init__(self, margin: float = 0.0, p_norm: float = 1.0) -> None:
        super().__init__(0.0, p_norm)
        self.p = p_norm

    def prepare(self, z):
        return F.normalize(z, p=self.p_norm, dim=-1)

    def query_tail(self, zh, wr):
        return zh + wr

    def query_head(self, zt, wr):
        return zt - wr


DECODERS: dict[str, type[Decoder]] = {
    cls.name: cls for cls in (DistMultDecoder, ComplExDecoder, RotatEDecoder, TransEDecoder)}


def make_decoder(name: str, **kwargs) -> Decoder:
    try:
        return DECODERS[name.lower()](**kwargs)
    except KeyError:
        raise UnknownComponentError("decoder", name, list(DECODERS)) from None


# --- the common interface ----------------------------------------------------------------------------


class LinkPredictor(nn.Module):
    """Base class: an encoder (:meth:`encode`) plus a decoder over relation vectors.

    Subclasses set ``decoder`` and implement :meth:`encode` and :meth:`relation_table`.
    ``spec`` records the registry name and constructor kwargs so a checkpoint can rebuild the model.
    """

    uses_graph = False

    def __init__(self, num_entities: int, num_relations: int, reciprocal: bool) -> None:
        super().__init__()
        self.num_entities, self.num_relations, self.reciprocal = num_entities, num_relations, reciprocal
        self.decoder: Decoder = DistMultDecoder()
        self.spec: dict[str, Any] = {}

    def encode(self, edge_index: Tensor | None = None, edge_type: Tensor | None = None,
               nodes: Tensor | None = None) -> Tensor:
        """Entity representations ``z[n, D]`` for ``nodes`` (all entities when None).

        Args:
            edge_index: ``[2, E]`` message edges among ``nodes`` (local ids), ignored by KGE models.
            edge_type: ``[E]`` relation of each edge (``r + R`` for inverse direction).
            nodes: ``[n]`` global entity ids the rows of the result stand for.
        """
        raise NotImplementedError

    def relation_table(self) -> Tensor:
        """``[2R or R, Dr]`` relation vectors for the decoder."""
        raise NotImplementedError

    # scoring --------------------------------------------------------------------------------------
    def query(self, z: Tensor, anchor: Tensor, q: Tensor) -> Tensor:
        """Decoder queries ``[B, D]`` for anchors ``[B]`` and query relations ``q[B]`` in ``[0, 2R)``.

        ``q >= R`` asks for heads of ``q - R``: a learned inverse relation in reciprocal models,
        the decoder's head-side query otherwise. ``z`` must be ``decoder.prepare``-d.
        """
        w = self.relation_table()
        if self.reciprocal:
            return self.decoder.query_tail(z[anchor], w[q])
        inverse = q >= self.num_relations
        base = torch.where(inverse, q - self.num_relations, q)
        fwd = self.decoder.query_tail(z[anchor], w[base])
        bwd = self.decoder.query_head(z[anchor], w[base])
        return torch.where(inverse.unsqueeze(-1), bwd, fwd)

    def score_tails(self, h: Tensor, r: Tensor, z: Tensor) -> Tensor:
        """``[B]`` anchors and query relations (``r + R`` = head query) -> ``[B, N]`` candidate scores."""
        z = self.decoder.prepare(z)
        return self.decoder.score_all(self.query(z, h, r), z)

    def score_heads(self, r: Tensor, t: Tensor, z: Tensor) -> Tensor:
        """``[B]`` base relations and tails -> ``[B, N]`` scores of every head candidate."""
        return self.score_tails(t, r + self.num_relations, z)

    def score_query_candidates(self, anchor: Tensor, r: Tensor, candidates: Tensor, z: Tensor) -> Tensor:
        """Query scores of given candidates: ``[B]``, ``[B]``, ``[B, K]`` -> ``[B, K]``."""
        z = self.decoder.prepare(z)
        return self.decoder.score(self.query(z, anchor, r).unsqueeze(1), z[candidates])

    def score_query_shared(self, anchor: Tensor, r: Tensor, candidates: Tensor, z: Tensor) -> Tensor:
        """Query scores against one shared candidate list: ``[B]``, ``[B]``, ``[K]`` -> ``[B, K]``."""
        z = self.decoder.prepare(z)
        return self.decoder.score_all(self.query(z, anchor, r), z[candidates])

    def score_triples(self, h: Tensor, r: Tensor, t: Tensor, z: Tensor) -> Tensor:
        """``[B]`` triples (base relations) -> ``[B]`` logits; reciprocal models average both directions."""
        z = self.decoder.prepare(z)
        fwd = self.decoder.score(self.query(z, h, r), z[t])
        if not self.reciprocal:
            return fwd
        return (fwd + self.decoder.score(self.query(z, t, r + self.num_relations), z[h])) / 2

    def score_pairs(self, heads: Tensor, r: int, tails: Tensor, z: Tensor) -> Tensor:
        """Scores of every ``(heads[i], r, tails[j])``: ``[H]``, ``[T]`` -> ``[H, T]`` (as :meth:`score_triples`)."""
        z = self.decoder.prepare(z)
        rel = torch.full((len(heads),), r, dtype=torch.long, device=heads.device)
        fwd = self.decoder.score_all(self.query(z, heads, rel), z[tails])
        if not self.reciprocal:
            return fwd
        rel = torch.full((len(tails),), r + self.num_relations, dtype=torch.long, device=tails.device)
        return (fwd + self.decoder.score_all(self.query(z, tails, rel), z[heads]).t()) / 2

    def penalty(self, h: Tensor, r: Tensor, t: Tensor, z: Tensor) -> Tensor:
        """N3 regularizer of the factors of a batch of query triples (``r`` in ``[0, 2R)``)."""
        if not self.reciprocal:
            r = r % self.num_relations
        return self.decoder.regularizer(z[h], self.relation_table()[r], z[t])

    @torch.no_grad()
    def encode_all(self, data, device: torch.device | str | None = None) -> Tensor:
        """``z[N, D]`` for inference: encoder over the whole training graph of ``data``."""
        if not self.uses_graph:
            return self.encode()
        device = device or next(self.parameters()).device
        edge_index, edge_type = data.message_graph()
        return self.encode(edge_index.to(device), edge_type.to(device))

    def native_loss(self, h: Tensor, r: Tensor, t: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no native loss; use loss='1-N' or 'negatives'")


# --- plain KGE baselines (torch_geometric.nn.kge) ----------------------------------------------------


class KGEBaseline(LinkPredictor):
    """A :mod:`torch_geometric.nn.kge` model (``kind``: transe, distmult, complex, rotate).

    Args:
        num_entities, num_relations: N and R.
        dim: embedding size (complex dimension for complex/rotate).
        reciprocal: learn ``2R`` relations (inverse ones answer head queries).
        **kwargs: passed to the PyG class (``margin``, ``p_norm``, ``sparse``). ``sparse=True``
            (with the ``adagrad`` or ``sparse_adam`` optimizer) updates only the rows a batch touches,
            which large graphs trained with negative sampling need to be fast.
    """

    def __init__(self, num_entities: int, num_relations: int, kind: str = "complex", dim: int = 200,
                 reciprocal: bool = True, init_scale: float | None = None, **kwargs) -> None:
        from torch_geometric.nn import kge

        super().__init__(num_entities, num_relations, reciprocal)
        classes = {"transe": kge.TransE, "distmult": kge.DistMult, "complex": kge.ComplEx,
                   "rotate": kge.RotatE}
        if kind not in classes:
            raise UnknownComponentError("KGE model", kind, list(classes))
        self.kind = kind
        self.kge = classes[kind](num_entities, num_relations * (2 if reciprocal else 1), dim, **kwargs)
        if init_scale is not None:  # small init helps 1-N training with N3 (Lacroix et al.)
            for name, p in self.kge.named_parameters():
                if not (kind == "rotate" and name.startswith("rel_emb")):
                    with torch.no_grad():
                        p.normal_(0, init_scale)
        self.decoder = make_decoder(kind, margin=getattr(self.kge, "margin", 0.0),
                                    p_norm=getattr(self.kge, "p_norm", 1.0))

    def encode(self, edge_index=None, edge_type=None, nodes=None):
        k = self.kge
        if nodes is None:
            return torch.cat([k.node_emb.weight, k.node_emb_im.weight], -1) if hasattr(k, "node_emb_im") \
                else k.node_emb.weight
        # lookups (not slices of the weight) so sparse=True embeddings get sparse gradients
        return torch.cat([k.node_emb(nodes), k.node_emb_im(nodes)], -1) if hasattr(k, "node_emb_im") \
            else k.node_emb(nodes)

    def relation_table(self):
        k = self.kge
        return torch.cat([k.rel_emb.weight, k.rel_emb_im.weight], -1) if hasattr(k, "rel_emb_im") \
            else k.rel_emb.weight

    def native_loss(self, h, r, t):
        """PyG's own loss (margin ranking or BCE with its random head-or-tail corruption)."""
        return self.kge.loss(h, r, t)


# --- R-GCN encoder -----------------------------------------------------------------------------------


class _BasisAggregate(torch.autograd.Function):
    """``agg[b, i] = sum over edges e into i of coeff[e, b] * x[src_e]`` (``[B, N, d]``).

    Differentiable in ``coeff`` and ``x``. ``torch.sparse.mm`` would form the dense
    ``grad_out @ x.T`` (``B*N x N``) for the gradient of the sparse values; here each edge's
    ``grad[b, dst_e] . x[src_e]`` is computed in chunks of edges, so memory stays O(E x B + B x N x d).
    """

    @staticmethod
    def forward(ctx, src, dst, coeff, x):
        n, bases = x.size(0), coeff.size(1)
        ctx.save_for_backward(src, dst, coeff, x)
        rows = (torch.arange(bases, device=x.device).unsqueeze(1) * n + dst.unsqueeze(0)).reshape(-1)
        adj = torch.sparse_coo_tensor(torch.stack([rows, src.repeat(bases)]), coeff.t().reshape(-1),
                                      (bases * n, n), check_invariants=False)
        return torch.sparse.mm(adj, x).view(bases, n, -1)

    @staticmethod
    def backward(ctx, grad_out):
        src, dst, coeff, x = ctx.saved_tensors
        n, bases = x.size(0), coeff.size(1)
        grad_coeff = grad_x = None
        if ctx.needs_input_grad[2]:
            step = max(1, (1 << 23) // max(bases * x.size(1), 1))
            grad_coeff = torch.cat([
                torch.einsum("bcd,cd->cb", grad_out[:, dst[i:i + step]], x[src[i:i + step]])
                for i in range(0, len(src), step)]) if len(src) else coeff.new_zeros(coeff.shape)
        if ctx.needs_input_grad[3]:
            cols = (torch.arange(bases, device=x.device).unsqueeze(1) * n + dst.unsqueeze(0)).reshape(-1)
            adj_t = torch.sparse_coo_tensor(torch.stack([src.repeat(bases), cols]), coeff.t().reshape(-1),
                                            (n, bases * n), check_invariants=False)
            grad_x = torch.sparse.mm(adj_t, grad_out.reshape(bases * n, -1))
        return None, None, grad_coeff, grad_x


def _basis_rgcn_conv():
    from torch_geometric.nn import RGCNConv

    class BasisRGCNConv(RGCNConv):
        """:class:`torch_geometric.nn.RGCNConv` with basis decomposition, vectorized over bases.

        Same parameters, initialisation and output as ``RGCNConv(aggr="mean", num_bases=B)``
        (tested), but instead of one message-passing call per relation (a Python loop over ``2R``
        relations, slow when there are many relations and few edges each) it computes, per basis
        ``b``, ``A_b @ x`` with one sparse matrix ``A[B * N, N]`` whose entries are
        ``comp[type_e, b] / |edges of type_e into dst_e|``, then ``sum_b (A_b x) V_b``.
        """

        def forward(self, x, edge_index, edge_type):
            src, dst = edge_index
            num_rel = self.num_relations
            _, inv, cnt = torch.unique(dst * num_rel + edge_type, return_inverse=True, return_counts=True)
            coeff = self.comp[edge_type] / cnt[inv].unsqueeze(1).to(x.dtype)  # [E, B]
            agg = _BasisAggregate.apply(src, dst, coeff, x)
            out = torch.einsum("bni,bio->no", agg, self.weight)
            if self.root is not None:
                out = out + x @ self.root
            if self.bias is not None:
                out = out + self.bias
            return out

    return BasisRGCNConv



class RGCN(LinkPredictor):
    """R-GCN encoder (Schlichtkrull et al., 2018; basis decomposition) with a KGE decoder.

    Input features per entity: a learned embedding plus a learned embedding of its type, plus a
    linear projection of its text features when given. Layers run over both edge directions
    (``2R`` relation types, self-connection via the root weight). With ``residual`` the input
    embedding is added to the output, so the model can fall back to a plain KGE model where
    neighbourhoods do not help.

    Args:
        num_entities, num_relations: N and R.
        decoder: distmult, complex, rotate or transe.
        dim: entity dimension for the decoder (complex dimension for complex/rotate).
        layers: number of RGCNConv layers.
        num_bases: bases of the relation weights (None: ``min(2R, 4)``).
        num_types: entity types (``entity_type`` must be given when > 1).
        entity_type: ``LongTensor[N]`` type of each entity.
        text_features: optional ``FloatTensor[N, F]`` (kept as a buffer, not trained).
        dropout: feature dropout between layers.
        residual: add the input features to the encoder output.
        reciprocal: learn inverse relations in the decoder.
        sparse: sparse gradients for the entity embedding table (large graphs; use ``adagrad``).
    """

    uses_graph = True

    def __init__(self, num_entities: int, num_relations: int, decoder: str = "distmult", dim: int = 100,
                 layers: int = 2, num_bases: int | None = None, num_types: int = 1,
                 entity_type: Tensor | None = None, text_features: Tensor | None = None,
                 dropout: float = 0.2, residual: bool = True, reciprocal: bool = True,
                 margin: float = 6.0, init_scale: float = 0.1, sparse: bool = False) -> None:
        super().__init__(num_entities, num_relations, reciprocal)
        conv = _basis_rgcn_conv()
        self.decoder = make_decoder(decoder, margin=margin)
        width = 2 * dim if self.decoder.complex_valued else dim
        self.entity_emb = nn.Embedding(num_entities, width, sparse=sparse)
        nn.init.normal_(self.entity_emb.weight, 0, init_scale)
        self.type_emb = nn.Embedding(max(num_types, 1), width) if num_types > 1 else None
        if self.type_emb is not None:
            nn.init.normal_(self.type_emb.weight, 0, init_scale)
        self.register_buffer("entity_type", entity_type if entity_type is not None
                             else torch.zeros(num_entities, dtype=torch.long), persistent=False)
        self.register_buffer("text_features", text_features, persistent=False)
        self.text_proj = nn.Linear(text_features.shape[1], width, bias=False) \
            if text_features is not None else None
        n_rel = 2 * num_relations
        self.convs = nn.ModuleList(
            conv(width, width, n_rel, num_bases=num_bases or min(n_rel, 4)) for _ in range(layers))
        self.dropout, self.residual = dropout, residual
        rel_dim = self.decoder.relation_dim(dim)
        self.rel = nn.Parameter(torch.empty(n_rel if reciprocal else num_relations, rel_dim))
        if decoder == "rotate":
            nn.init.uniform_(self.rel, 0, 2 * math.pi)
        else:
            nn.init.normal_(self.rel, 0, init_scale)
            with torch.no_grad():
                self.rel.add_(1.0 if decoder == "distmult" else 0.0)

    def features(self, nodes: Tensor | None = None) -> Tensor:
        idx = nodes if nodes is not None else torch.arange(self.num_entities, device=self.rel.device)
        x = self.entity_emb(idx)
        if self.type_emb is not None:
            x = x + self.type_emb(self.entity_type[idx])
        if self.text_proj is not None:
            x = x + self.text_proj(self.text_features[idx])
        return x

    def encode(self, edge_index=None, edge_type=None, nodes=None):
        x0 = self.features(nodes)
        if edge_index is None:
            return x0
        x = x0
        for i, conv in enumerate(self.convs):
            x = F.dropout(x, self.dropout, self.training)
            x = conv(x, edge_index, edge_type)
            if i < len(self.convs) - 1:
                x = torch.tanh(x)
        return x0 + x if self.residual else x

    def relation_table(self):
        return self.rel


# --- registry ----------------------------------------------------------------------------------------


def _kge(kind: str):
    def build(num_entities: int, num_relations: int, **kwargs) -> KGEBaseline:
        return KGEBaseline(num_entities, num_relations, kind=kind, **kwargs)

    build.__name__ = kind
    return build


MODELS: dict[str, Any] = {
    "transe": _kge("transe"), "distmult": _kge("distmult"), "complex": _kge("complex"),
    "rotate": _kge("rotate"), "rgcn": RGCN,
}
"""Registry: name -> factory ``(num_entities, num_relations, **kwargs) -> LinkPredictor``."""


def make_model(model: str | type | LinkPredictor, data=None, **kwargs) -> LinkPredictor:
    """Build a model by registry name, class or instance (instances are returned as they are).

    Args:
        model: a name in :data:`MODELS`, a :class:`LinkPredictor` subclass, or an instance.
        data: a :class:`gnn.data.KGData`; gives N, R and, for graph models, entity types and text
            features unless passed in ``kwargs``.
        **kwargs: constructor arguments (``dim``, ``decoder``, ``layers``, ...).

    Raises:
        UnknownComponentError: unknown name (the message lists the valid ones).
    """
    if isinstance(model, LinkPredictor):
        return model
    if isinstance(model, str):
        factory = MODELS.get(model.lower())
        if factory is None:
            raise UnknownComponentError("model", model, list(MODELS))
        name = model.lower()
    else:
        factory, name = model, model.__name__
    spec_kwargs = dict(kwargs)
    if data is not None:
        kwargs.setdefault("num_entities", data.num_entities)
        kwargs.setdefault("num_relations", data.num_relations)
        if factory is RGCN:
            kwargs.setdefault("num_types", data.num_types)
            kwargs.setdefault("entity_type", data.entity_type)
            kwargs.setdefault("text_features", data.text_features)
    instance = factory(**kwargs)
    instance.spec = {"name": name, "kwargs": spec_kwargs}
    return instance


# --- negative sampling -------------------------------------------------------------------------------


class NegativeSampler:
    """Uniform tail corruption: ``[B]`` query relations -> ``[B, k]`` random entity ids.

    ``shared`` samplers let the trainer draw one list of ``k`` negatives per batch that every
    positive is contrasted with (one matrix product instead of ``B x k`` gathers; in sampled mode it
    also keeps the seed set small). Uniform corruption does not depend on the query, so sharing
    changes nothing in expectation.
    """

    name = "uniform"
    shared = True

    def __init__(self, num_entities: int) -> None:
        self.num_entities = num_entities

    def to(self, device) -> NegativeSampler:
        return self

    def __call__(self, r: Tensor, k: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randint(self.num_entities, (len(r), k), device=r.device, generator=generator)


class TypedNegativeSampler(NegativeSampler):
    """Tail corruption among the entities the relation's type signature allows.

    For query relation ``q < R`` candidates are the entities of the range types of ``q``; for an
    inverse query ``q >= R`` those of the domain types of ``q - R``. Pools come from
    :meth:`gnn.data.KGData.candidate_pools` (CSR ``ptr[2R + 1]``, ``ids[M]``).
    """

    name = "typed"
    shared = False

    def __init__(self, num_entities: int, ptr: Tensor, ids: Tensor) -> None:
        super().__init__(num_entities)
        self.ptr, self.ids = ptr, ids

    def to(self, device) -> TypedNegativeSampler:
        self.ptr, self.ids = self.ptr.to(device), self.ids.to(device)
        return self

    def __call__(self, r, k, generator=None):
        start = self.ptr[r].unsqueeze(1)
        size = (self.ptr[r + 1] - self.ptr[r]).unsqueeze(1)
        u = torch.rand((len(r), k), device=r.device, generator=generator)
        offset = (u * size).long().clamp_max(size - 1)
        return self.ids[start + offset]


def make_sampler(name: str, data) -> NegativeSampler:
    """``uniform``, ``typed`` (schema domain/range; uniform when the data has no schema) or
    ``observed`` (entity types seen per relation role in train)."""
    if name == "uniform":
        return NegativeSampler(data.num_entities)
    if name in ("typed", "observed"):
        pools = data.candidate_pools(source="schema" if name == "typed" else "observed")
        if pools is None:
            return NegativeSampler(data.num_entities)
        return TypedNegativeSampler(data.num_entities, *pools)
    raise UnknownComponentError("negative sampler", name, ["uniform", "typed", "observed"])
