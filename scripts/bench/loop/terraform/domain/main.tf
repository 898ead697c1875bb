# The peer's side of `npm run bench:loop`, step "one domain": the same guest as
# scripts/bench/loop/program (256 MiB, 1 vCPU, a custom qemu64 CPU with svm,
# VNC and a TCP serial console on 127.0.0.1, no disk: a guest with no OS),
# with terraform-provider-libvirt. The provider has no custom CPU model nor a
# fixed VNC port: the XSLT adds both (the provider runs xsltproc).
terraform {
  required_providers {
    libvirt = {
      source = "dmacvicar/libvirt"
    }
  }
}

variable "name" {
  type = string
}

variable "vnc_port" {
  type = number
}

variable "serial_port" {
  type = number
}

provider "libvirt" {
  uri = "qemu:///system"
}

resource "libvirt_domain" "bench" {
  name    = var.name
  type    = "qemu"
  memory  = 256
  vcpu    = 1
  running = true

  graphics {
    type           = "vnc"
    listen_type    = "address"
    listen_address = "127.0.0.1"
    autoport       = false
  }

  console {
    type           = "tcp"
    source_host    = "127.0.0.1"
    source_service = tostring(var.serial_port)
    target_type    = "serial"
    target_port    = "0"
  }

  xml {
    xslt = templatefile("${path.module}/../cpu-and-vnc.xsl.tftpl", { vnc_port = var.vnc_port })
  }
}
