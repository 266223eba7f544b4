// name: entity_profile
// description: One entity by id or name: type, language, aliases, description, fact counts and the languages of the documents that mention it.
// param: entity: str — entity id (ent:…) or name (case-insensitive)
// sort: name, id

MATCH (e:Entity)
WHERE e.id = $entity OR toLower(e.name) = toLower($entity)
OPTIONAL MATCH (e)-[o:RELATION]->(:Entity)
WITH e, count(DISTINCT o) AS facts_as_subject
OPTIONAL MATCH (e)<-[i:RELATION]-(:Entity)
WITH e, facts_as_subject, count(DISTINCT i) AS facts_as_object
OPTIONAL MATCH (e)-[:MENTIONED_IN]->(d:Document)
RETURN e.id AS id, e.name AS name, e.type AS type, e.lang AS lang, e.aliases AS aliases,
       e.description AS description, facts_as_subject, facts_as_object,
       count(DISTINCT d) AS documents, collect(DISTINCT d.lang) AS languages
ORDER BY name, id
