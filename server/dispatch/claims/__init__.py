"""The claim pool (抢单): dispatchers open new work orders for claiming; qualified engineers
list and claim them, exactly one winner per work order (service.py)."""
