// name: contradictions
// description: Contradicting facts: one subject with several objects for a functional relation (at most one object allowed).
// param: relation: str = @functional — a functional relation; default: each relation marked `functional: true` in the workspace schema
// param: limit: int = 100 — maximum rows
// sort: predicate, subject, subject_id, confidence desc, object

MATCH (s:Entity)-[r:RELATION]->(o:Entity)
WHERE r.predicate = $relation AND r.open = false
WITH s, count(DISTINCT o) AS objects
WHERE objects > 1
MATCH (s)-[r:RELATION]->(o:Entity)
WHERE r.predicate = $relation AND r.open = false
RETURN s.name AS subject, s.id AS subject_id, r.predicate AS predicate, o.name AS object,
       r.confidence AS confidence, r.source AS source, r.evidence_count AS evidence_count, objects
ORDER BY predicate, subject, subject_id, confidence DESC, object
LIMIT $limit
