"""Neural-network building blocks shared by the model families: layers, CPU GEMM routes, and the
performance settings that switch them."""
