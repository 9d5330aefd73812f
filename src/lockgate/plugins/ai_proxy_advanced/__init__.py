"""ai-proxy-advanced: several targets behind one route, balanced, with failover."""
