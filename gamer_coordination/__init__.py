"""GAMER coordination: live projections, dashboards over websockets, timelines, reports."""
