// name: top_entities
// description: Most-connected entities (facts in either direction), overall or within one entity type.
// param: entity_type: str = "" — only this entity type (e.g. Person); empty for every type
// param: limit: int = 10 — maximum rows
// sort: degree desc, name, id

MATCH (e:Entity)-[r:RELATION]-(:Entity)
WHERE $entity_type = '' OR e.type = $entity_type
RETURN e.type AS type, e.name AS name, e.id AS id, count(DISTINCT r) AS degree
ORDER BY degree DESC, name, id
LIMIT $limit
