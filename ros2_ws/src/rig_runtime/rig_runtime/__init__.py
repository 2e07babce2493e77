"""What every rig-ros2 node stands on: the node runner and its stop handling (`node_runner`), the QoS
profiles of the topic contract (`qos`), typed parameters (`params`), stamps and image conversion
(`messages`), the graph description (`graph`), node processes (`processes`) and scheduling (`scheduling`).
Depends on no node package."""
