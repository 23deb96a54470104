//! The node agent, overlay network and Service proxy (filled in by the node issues).
