// name: paths
// description: Paths of up to max_hops facts (either direction) between two entities, shortest first.
// param: from_entity: str — first entity: id (ent:…) or name (case-insensitive)
// param: to_entity: str — second entity: id (ent:…) or name (case-insensitive)
// param: max_hops: int = 3 — longest path in facts, 1 to 3 (larger values act as 3)
// param: limit: int = 25 — maximum rows
// sort: hops, path

// One UNION branch per length: variable-length patterns cannot take their bound from a parameter,
// and spelling the hops out keeps the query in the Cypher that LadybugDB and Neo4j share.
// The runner sorts the union (Cypher cannot order a UNION portably). Each fact's direction comes from
// an OPTIONAL MATCH on its id: LadybugDB cannot sort rows computed with an EXISTS subquery.
MATCH (a:Entity)-[r1:RELATION]-(b:Entity)
WHERE (a.id = $from_entity OR toLower(a.name) = toLower($from_entity))
  AND (b.id = $to_entity OR toLower(b.name) = toLower($to_entity))
  AND a <> b
OPTIONAL MATCH (a)-[f1:RELATION]->(b) WHERE f1.id = r1.id
RETURN 1 AS hops,
  a.name
  + CASE WHEN f1 IS NULL THEN ' <-[' + r1.predicate + ']- ' ELSE ' -[' + r1.predicate + ']-> ' END
  + b.name AS path
ORDER BY path
LIMIT $limit
UNION
MATCH (a:Entity)-[r1:RELATION]-(m1:Entity)-[r2:RELATION]-(b:Entity)
WHERE (a.id = $from_entity OR toLower(a.name) = toLower($from_entity))
  AND (b.id = $to_entity OR toLower(b.name) = toLower($to_entity))
  AND $max_hops >= 2 AND a <> b AND m1 <> a AND m1 <> b
OPTIONAL MATCH (a)-[f1:RELATION]->(m1) WHERE f1.id = r1.id
OPTIONAL MATCH (m1)-[f2:RELATION]->(b) WHERE f2.id = r2.id
RETURN 2 AS hops,
  a.name
  + CASE WHEN f1 IS NULL THEN ' <-[' + r1.predicate + ']- ' ELSE ' -[' + r1.predicate + ']-> ' END
  + m1.name
  + CASE WHEN f2 IS NULL THEN ' <-[' + r2.predicate + ']- ' ELSE ' -[' + r2.predicate + ']-> ' END
  + b.name AS path
ORDER BY path
LIMIT $limit
UNION
MATCH (a:Entity)-[r1:RELATION]-(m1:Entity)-[r2:RELATION]-(m2:Entity)-[r3:RELATION]-(b:Entity)
WHERE (a.id = $from_entity OR toLower(a.name) = toLower($from_entity))
  AND (b.id = $to_entity OR toLower(b.name) = toLower($to_entity))
  AND $max_hops >= 3 AND a <> b AND m1 <> a AND m1 <> b AND m2 <> a AND m2 <> b AND m1 <> m2
OPTIONAL MATCH (a)-[f1:RELATION]->(m1) WHERE f1.id = r1.id
OPTIONAL MATCH (m1)-[f2:RELATION]->(m2) WHERE f2.id = r2.id
OPTIONAL MATCH (m2)-[f3:RELATION]->(b) WHERE f3.id = r3.id
RETURN 3 AS hops,
  a.name
  + CASE WHEN f1 IS NULL THEN ' <-[' + r1.predicate + ']- ' ELSE ' -[' + r1.predicate + ']-> ' END
  + m1.name
  + CASE WHEN f2 IS NULL THEN ' <-[' + r2.predicate + ']- ' ELSE ' -[' + r2.predicate + ']-> ' END
  + m2.name
  + CASE WHEN f3 IS NULL THEN ' <-[' + r3.predicate + ']- ' ELSE ' -[' + r3.predicate + ']-> ' END
  + b.name AS path
ORDER BY path
LIMIT $limit
