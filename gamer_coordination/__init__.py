"""GAMER coordination: live projections, dashboards over websockets, timelines and situation reports."""
