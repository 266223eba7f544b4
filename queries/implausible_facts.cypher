// name: implausible_facts
// description: Extracted facts the link predictor (kg complete) finds least plausible — review these first.
// param: max_plausibility: float = 0.5 — only facts scored below this
// param: relation: str = "" — only this relation; empty for all
// param: limit: int = 50 — maximum rows
// sort: plausibility, subject, predicate, object

MATCH (s:Entity)-[r:RELATION]->(o:Entity)
WHERE r.source <> 'inferred' AND r.plausibility < $max_plausibility
  AND ($relation = '' OR r.predicate = $relation)
RETURN s.name AS subject, r.predicate AS predicate, o.name AS object, r.plausibility AS plausibility,
       r.confidence AS confidence, r.evidence_count AS evidence_count, r.model AS model
ORDER BY plausibility, subject, predicate, object
LIMIT $limit
