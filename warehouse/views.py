"""Analysis views over the contract tables, created in corpus.duckdb after every landing."""

from __future__ import annotations

ANALYSIS_VIEWS: dict[str, str] = {
    # one row per article x entity: how often the article names the entity, in its body, title or
    # dateline (a name only in the headline still makes the article one that names the entity)
    "entity_mentions": """
        SELECT m.article_id, m.entity_id, e.canonical_name, e.type,
               count(*) AS n_mentions, a.source_name, coalesce(a.sitename, a.source_name) AS outlet,
               a.published, a.title, list(DISTINCT m.surface ORDER BY m.surface) AS surfaces,
               list(DISTINCT m.field ORDER BY m.field) AS fields
        FROM mentions m
        JOIN articles a USING (article_id)
        LEFT JOIN entities e USING (entity_id)
        GROUP BY ALL""",
    # pairs of entities named in the same article (entity_a < entity_b), with article counts
    "entity_cooccurrence": """
        WITH ae AS (SELECT DISTINCT article_id, entity_id FROM mentions)
        SELECT x.entity_id AS entity_a, ea.canonical_name AS name_a,
               y.entity_id AS entity_b, eb.canonical_name AS name_b,
               count(*) AS n_articles, list(x.article_id ORDER BY x.article_id) AS article_ids
        FROM ae x
        JOIN ae y ON x.article_id = y.article_id AND x.entity_id < y.entity_id
        LEFT JOIN entities ea ON ea.entity_id = x.entity_id
        LEFT JOIN entities eb ON eb.entity_id = y.entity_id
        GROUP BY ALL""",
    # per day (published date, else ingest date) and entity: mentions and articles
    "mentions_by_day": """
        SELECT coalesce(a.published, CAST(a.ingested_at AS DATE)) AS day,
               (a.published IS NULL) AS day_is_ingest_date,
               m.entity_id, e.canonical_name, count(*) AS n_mentions,
               count(DISTINCT m.article_id) AS n_articles
        FROM mentions m
        JOIN articles a USING (article_id)
        LEFT JOIN entities e USING (entity_id)
        GROUP BY ALL""",
    # per source (outlet = site name for web pages, else the file name)
    "source_summary": """
        SELECT coalesce(a.sitename, a.source_name) AS outlet,
               count(*) AS n_articles,
               sum(coalesce(mc.n_mentions, 0)) AS n_mentions,
               sum(coalesce(mc.n_entities, 0)) AS n_entity_links,
               min(a.published) AS first_published, max(a.published) AS last_published,
               list(DISTINCT a.language) AS languages,
               sum(length(a.clean_text)) AS clean_chars,
               max(a.ingested_at) AS last_ingested_at
        FROM articles a
        LEFT JOIN (SELECT article_id, count(*) AS n_mentions, count(DISTINCT entity_id) AS n_entities
                   FROM mentions GROUP BY article_id) mc USING (article_id)
        GROUP BY ALL""",
}
