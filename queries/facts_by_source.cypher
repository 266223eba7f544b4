// name: facts_by_source
// description: Facts of one source — extracted, inferred (link prediction) or imported — with confidence, evidence count and the model that scored them.
// param: fact_source: str = "inferred" — extracted, inferred or imported
// param: relation: str = "" — only this relation; empty for all
// param: limit: int = 50 — maximum rows
// sort: confidence desc, subject, predicate, object

MATCH (s:Entity)-[r:RELATION]->(o:Entity)
WHERE r.source = $fact_source AND ($relation = '' OR r.predicate = $relation)
RETURN r.source AS source, s.name AS subject, r.predicate AS predicate, o.name AS object,
       r.confidence AS confidence, r.evidence_count AS evidence_count, r.batch AS batch, r.model AS model
ORDER BY confidence DESC, subject, predicate, object
LIMIT $limit
