//! Node: many links on one bus and one thread.

use std::time::Duration;

use isotp::bus::VirtualBus;
use isotp::{Address, AddressingMode, Config, Node};

const WAIT: Option<Duration> = Some(Duration::from_secs(20));

#[test]
fn two_hundred_links_exchange_multi_frame_messages_at_once() {
    let bus = VirtualBus::new();
    let testers = Node::new(bus.attach());
    let ecus = Node::new(bus.attach());
    let mut links = Vec::new();
    for i in 0..200u32 {
        let address = Address::normal_29(0x1000 + i, 0x2000 + i).unwrap();
        links.push((
            testers.add(address, Config::default()).unwrap(),
            ecus.add(address.mirrored().unwrap(), Config::default())
                .unwrap(),
        ));
    }
    assert_eq!(testers.len(), 200);
    // Each link's messages: its index's low byte, repeated.
    for (i, (t, _)) in links.iter().enumerate() {
        t.send(&vec![i.to_le_bytes()[0]; 100 + i]).unwrap();
    }
    for (i, (t, e)) in links.iter().enumerate() {
        let b = i.to_le_bytes()[0];
        assert_eq!(e.recv(WAIT).unwrap(), Some(vec![b; 100 + i]));
        e.send(&[!b; 50]).unwrap();
        assert_eq!(t.recv(WAIT).unwrap(), Some(vec![!b; 50]));
    }
}

#[test]
fn fixed_addressing_links_share_a_node() {
    let bus = VirtualBus::new();
    let testers = Node::new(bus.attach());
    let ecus = Node::new(bus.attach());
    let mut links = Vec::new();
    for ecu in 0x10..0x18u8 {
        let address = Address::builder(AddressingMode::NormalFixed29)
            .target_address(ecu)
            .source_address(0xF1)
            .build()
            .unwrap();
        links.push((
            testers.add(address, Config::default()).unwrap(),
            ecus.add(address.mirrored().unwrap(), Config::default())
                .unwrap(),
        ));
    }
    for ((t, e), i) in links.iter().zip(0u8..) {
        t.send(&[i; 40]).unwrap();
        assert_eq!(e.recv(WAIT).unwrap(), Some(vec![i; 40]));
    }
}

#[test]
fn dropping_a_link_removes_it_from_the_node() {
    let bus = VirtualBus::new();
    let node = Node::new(bus.attach());
    let a = node
        .add(Address::normal_11(1, 2).unwrap(), Config::default())
        .unwrap();
    let b = node
        .add(Address::normal_11(3, 4).unwrap(), Config::default())
        .unwrap();
    assert_eq!(node.len(), 2);
    drop(a);
    assert_eq!(node.len(), 1);
    drop(b);
    assert!(node.is_empty());
}
