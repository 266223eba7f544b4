// name: neighbours
// description: Entities linked to an entity by a fact, in both directions, optionally by one relation.
// param: entity: str — entity id (ent:…) or name (case-insensitive)
// param: relation: str = "" — only this relation (schema name or open-relation lemma); empty for all
// param: limit: int = 50 — maximum rows
// sort: confidence desc, predicate, neighbour, direction

MATCH (e:Entity)-[r:RELATION]-(n:Entity)
WHERE (e.id = $entity OR toLower(e.name) = toLower($entity))
  AND ($relation = '' OR r.predicate = $relation)
// the direction of an undirected match: is r the fact (e)->(n)?
OPTIONAL MATCH (e)-[out:RELATION]->(n) WHERE out.id = r.id
RETURN e.name AS name,
       CASE WHEN out IS NULL THEN 'in' ELSE 'out' END AS direction,
       r.predicate AS predicate, n.name AS neighbour, n.type AS neighbour_type,
       r.confidence AS confidence, r.source AS source
ORDER BY confidence DESC, predicate, neighbour, direction
LIMIT $limit
