// name: orphans
// description: Entities that take part in no fact (mentioned only), most-mentioned first.
// param: entity_type: str = "" — only this entity type; empty for every type
// param: limit: int = 100 — maximum rows
// sort: documents desc, name, id

MATCH (e:Entity)
WHERE ($entity_type = '' OR e.type = $entity_type)
  AND NOT EXISTS { MATCH (e)-[:RELATION]-(:Entity) }
OPTIONAL MATCH (e)-[:MENTIONED_IN]->(d:Document)
RETURN e.id AS id, e.name AS name, e.type AS type, e.lang AS lang, count(DISTINCT d) AS documents
ORDER BY documents DESC, name, id
LIMIT $limit
