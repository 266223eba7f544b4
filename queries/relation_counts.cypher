// name: relation_counts
// description: Number of facts and of supporting sentences per relation and fact source.
// param: fact_source: str = "" — only this source (extracted, inferred, imported); empty for all
// sort: facts desc, predicate, source

MATCH (:Entity)-[r:RELATION]->(:Entity)
WHERE $fact_source = '' OR r.source = $fact_source
RETURN r.predicate AS predicate, r.open AS open, r.source AS source, count(r) AS facts,
       sum(r.evidence_count) AS evidence
ORDER BY facts DESC, predicate, source
