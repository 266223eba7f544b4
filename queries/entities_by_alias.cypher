// name: entities_by_alias
// description: Entities whose name or one of whose aliases (any language) matches a surface form.
// param: alias: str — the surface form, e.g. 马云 or IBM (case-insensitive)
// param: exact: bool = true — whole-string match; false to match any name or alias containing it
// param: limit: int = 50 — maximum rows
// sort: name, id

// The parameters are read once in a WITH, and the aliases tested by a single any(): LadybugDB cannot
// read a parameter inside a list predicate, and gives wrong rows for two list predicates in one WHERE.
WITH toLower($alias) AS wanted, $exact AS exact
MATCH (e:Entity)
WHERE (exact AND toLower(e.name) = wanted) OR (NOT exact AND toLower(e.name) CONTAINS wanted)
   OR any(a IN e.aliases WHERE (exact AND toLower(a) = wanted) OR (NOT exact AND toLower(a) CONTAINS wanted))
RETURN e.id AS id, e.name AS name, e.type AS type, e.lang AS lang, e.aliases AS aliases
ORDER BY name, id
LIMIT $limit
