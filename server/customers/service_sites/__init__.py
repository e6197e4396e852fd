"""The organisation's service sites (depots, service centres, partner workshops) and a work
order's nearest one."""
