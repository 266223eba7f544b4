// name: fact_evidence
// description: Facts with their source sentences: document, sentence index and text, character offsets, extractor and confidence.
// param: entity: str = "" — only facts with this subject or object (id or case-insensitive name); empty for all
// param: relation: str = "" — only this relation; empty for all
// param: limit: int = 50 — maximum rows
// sort: subject, predicate, object, document, sentence, start_char, extractor

MATCH (s:Entity)-[r:RELATION]->(o:Entity), (s)<-[:ABOUT]-(v:Evidence)
WHERE v.fact_id = r.id
  AND ($entity = '' OR s.id = $entity OR o.id = $entity
       OR toLower(s.name) = toLower($entity) OR toLower(o.name) = toLower($entity))
  AND ($relation = '' OR r.predicate = $relation)
// inferred facts cite no document
OPTIONAL MATCH (v)-[:FROM_DOCUMENT]->(d:Document)
RETURN s.name AS subject, r.predicate AS predicate, o.name AS object, r.confidence AS confidence,
       r.source AS source, d.source AS document, v.doc_id AS doc_id, v.sentence AS sentence,
       v.start_char AS start_char, v.end_char AS end_char, v.text AS text, v.extractor AS extractor,
       v.confidence AS evidence_confidence
ORDER BY subject, predicate, object, document, sentence, start_char, extractor
LIMIT $limit
