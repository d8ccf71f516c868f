/**
 * Header-only content sniffing and format checks for checkpoint files: what a file is (torch zip,
 * legacy torch pickle, safetensors, HDF5, TensorFlow index, or not a checkpoint at all: a Git LFS
 * pointer, an HTML error page, text), whether it is whole, and what a torch checkpoint says about
 * itself. Reads are bounded: end records, headers and, for torch files, a pickle of at most 32 MiB;
 * never a whole multi-gigabyte file. Pickles are interpreted as data and never executed.
 */
package dev.ckptwarden.catalog.integrity;
