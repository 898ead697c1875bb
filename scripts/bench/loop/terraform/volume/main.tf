# The peer's side of `npm run bench:loop`, step "one vmdk chain → volume":
# terraform-provider-libvirt cannot convert, so its volume is the chain's
# files uploaded as they are, base and delta, into the same existing pool.
terraform {
  required_providers {
    libvirt = {
      source = "dmacvicar/libvirt"
    }
  }
}

variable "pool" {
  type = string
}

variable "prefix" {
  type = string
}

variable "base" {
  type = string
}

variable "delta" {
  type = string
}

provider "libvirt" {
  uri = "qemu:///system"
}

resource "libvirt_volume" "base" {
  name   = "${var.prefix}-base.vmdk"
  pool   = var.pool
  source = var.base
  format = "vmdk"
}

resource "libvirt_volume" "delta" {
  name   = "${var.prefix}-delta.vmdk"
  pool   = var.pool
  source = var.delta
  format = "vmdk"
}
