-- What the data team reads: readings and events apart, and each gateway's freshness.
CREATE VIEW readings AS
    SELECT gateway, seq, ts, device, point, value,
           CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{}')::double precision END AS value_num,
           unit, quality, received_at
    FROM records WHERE kind = 'reading';

CREATE VIEW events AS
    SELECT gateway, seq, ts, event, priority, device, extra, received_at
    FROM records WHERE kind = 'event';

CREATE VIEW gateway_freshness AS
    SELECT g.gateway,
           g.last_seen,
           extract(epoch FROM now() - g.last_seen)::double precision AS silent_s,
           g.online,
           g.reported_backlog AS backlog,
           g.reported_last_seq,
           g.max_seq,
           g.contiguous_upto,
           coalesce(o.gaps_open, 0) AS gaps_open,
           coalesce(o.missing, 0) AS missing_records,
           coalesce(a.gaps_abandoned, 0) AS gaps_abandoned
    FROM gateways g
    LEFT JOIN (SELECT gateway, count(*) AS gaps_open, sum(last_seq - first_seq + 1) AS missing
               FROM gaps WHERE state = 'open' GROUP BY gateway) o USING (gateway)
    LEFT JOIN (SELECT gateway, count(*) AS gaps_abandoned
               FROM gaps WHERE state = 'abandoned' GROUP BY gateway) a USING (gateway);
