"""Hybrid mode (Kong's names): a control plane owns the store and pushes the
whole configuration to data planes, which hold no database credentials.

- :mod:`lockgate.cluster.certs`: the shared certificate (``lockgate cluster
  gen-cert``) and the mutual-TLS contexts built from it;
- :mod:`lockgate.cluster.protocol`: frames on the one long-lived connection
  per data plane, and the configuration hash;
- :mod:`lockgate.cluster.control_plane`: accepts data planes, pushes each
  new configuration version, lists them for ``GET /clustering/data-planes``;
- :mod:`lockgate.cluster.data_plane`: keeps the connection, and writes what
  it receives into the node's local SQLite store, which its workers follow
  as in traditional mode (the same "swap in a compiled configuration" step),
  and which is the cache a data plane serves from when it starts while the
  control plane is away.
"""
