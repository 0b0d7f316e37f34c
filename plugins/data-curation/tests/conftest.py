"""One thread per library: the test machine is small and shared, and spinning
OpenMP/BLAS threads slow everything down there (measured 3-4x)."""
import faiss

faiss.omp_set_num_threads(1)
