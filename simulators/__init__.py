"""Traffic generators that speak only ng112's public protocols (HTTP, MQTT, websockets)."""
