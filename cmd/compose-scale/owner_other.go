//go:build !unix

package main

func keepOwner(orig, tmp string) {}
