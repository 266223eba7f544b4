// name: document_facts
// description: Facts read in one document, with the sentence each was read in.
// param: doc: str — document id (doc:…), source path, file name, or title (case-insensitive)
// param: limit: int = 100 — maximum rows
// sort: doc_id, sentence, start_char, subject, predicate, object, extractor

MATCH (d:Document)<-[:FROM_DOCUMENT]-(v:Evidence)-[:ABOUT]->(s:Entity)-[r:RELATION]->(o:Entity)
WHERE r.id = v.fact_id
  AND (d.id = $doc OR d.source = $doc OR d.source ENDS WITH ('/' + $doc)
       OR toLower(d.title) = toLower($doc))
RETURN d.id AS doc_id, d.source AS document, v.sentence AS sentence, v.start_char AS start_char,
       s.name AS subject, r.predicate AS predicate, o.name AS object, v.text AS text,
       v.extractor AS extractor, v.confidence AS evidence_confidence, r.confidence AS confidence
ORDER BY doc_id, sentence, start_char, subject, predicate, object, extractor
LIMIT $limit
