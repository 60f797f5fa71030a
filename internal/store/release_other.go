//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// releaseMapping is Linux-only (see release_linux.go); elsewhere the
// kernel reclaims the walked pages under memory pressure.
func releaseMapping(*bolt.DB, string) {}
