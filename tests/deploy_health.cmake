# The deploy's health gate: its pace against a refused port (issue 21).
tl_unit_test(health_gate)
