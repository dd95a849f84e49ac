#!/usr/bin/perl
# sql_functions.pl INSTALL_SCRIPT: prints every function definition of an install script so an
# upgrade script can re-run it (docs/development.md, "Versions and upgrades"): each
# CREATE FUNCTION / PROCEDURE / AGGREGATE, turned into CREATE OR REPLACE, and each COMMENT ON,
# GRANT, REVOKE and ALTER of a function, procedure or aggregate (including REVOKE ... ON ALL
# FUNCTIONS IN SCHEMA) and each DO block that ALTERs functions (98_interrupts.sql), in the order
# of the install script: CREATE OR REPLACE resets what an ALTER FUNCTION set.
#
# Statements are split at semicolons outside comments, quoted strings ('...', E'...', "...")
# and dollar quotes ($$...$$, $tag$...$tag$), so function bodies come out whole; psql
# meta-commands (a line starting with a backslash) are skipped.  Fails on an unterminated
# quote or comment, so a script it cannot read never yields a silently short upgrade.
use strict;
use warnings;

local $/;
my $sql = <>;
die "sql_functions.pl: no input\n" unless defined $sql;

my $fn = qr/(?:FUNCTION|FUNCTIONS|PROCEDURE|PROCEDURES|AGGREGATE|ROUTINE|ROUTINES)/i;
my ($file, $printed_file) = ('', '');
my $n = 0;
my $len = length $sql;
my $i = 0;
my $stmt = '';
my $atomic = 0;      # depth of BEGIN / CASE ... END inside a BEGIN ATOMIC body (as psql counts it)

sub emit {
	my ($s) = @_;
	$s =~ s/^\s+//;
	return if $s eq '';
	my $head = $s;
	$head =~ s/\A(?:\s*--[^\n]*\n)+//;   # leading comment lines
	$head =~ s/^\s+//;
	my $keep = $head =~ /^CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|AGGREGATE)\b/i
	        || $head =~ /^COMMENT\s+ON\s+$fn\b/i
	        || $head =~ /^ALTER\s+$fn\b/i
	        || $head =~ /^(?:GRANT|REVOKE)\b[^;]*?\bON\s+(?:ALL\s+)?$fn\b/i
	        || $head =~ /^DO\b.*\bALTER\s+$fn\b/is;          # e.g. 98_interrupts.sql's SET jit = off
	return unless $keep;
	$head =~ s/^CREATE\s+(?!OR\s+REPLACE\b)(FUNCTION|PROCEDURE|AGGREGATE)\b/CREATE OR REPLACE $1/i;
	if ($file ne $printed_file) { print "\n-- from $file\n"; $printed_file = $file; }
	print "$head;\n";
	$n++;
}

while ($i < $len) {
	my $c = substr($sql, $i, 1);
	my $rest2 = substr($sql, $i, 2);
	if ($stmt =~ /^\s*$/ && $c eq '\\') {                       # psql meta-command: skip the line
		my $e = index($sql, "\n", $i);
		$i = $e < 0 ? $len : $e + 1;
		next;
	}
	if ($rest2 eq '--') {
		my $e = index($sql, "\n", $i);
		$e = $len - 1 if $e < 0;
		my $line = substr($sql, $i, $e - $i + 1);
		$file = $1 if $line =~ /^-- ==== (\S+) ====/;           # the install script's part markers
		$stmt .= $line unless $stmt =~ /^\s*$/;                 # comments between statements are dropped
		$i = $e + 1;
	} elsif ($rest2 eq '/*') {
		my ($depth, $j) = (1, $i + 2);
		while ($depth > 0) {
			die "sql_functions.pl: unterminated /* comment\n" if $j >= $len;
			if (substr($sql, $j, 2) eq '/*') { $depth++; $j += 2; }
			elsif (substr($sql, $j, 2) eq '*/') { $depth--; $j += 2; }
			else { $j++; }
		}
		$stmt .= substr($sql, $i, $j - $i);
		$i = $j;
	} elsif ($c eq "'" || $c eq '"') {
		my $escapes = $c eq "'" && $i > 0 && substr($sql, $i - 1, 1) =~ /[eE]/
		              && ($i < 2 || substr($sql, $i - 2, 1) !~ /\w/);
		my $j = $i + 1;
		while (1) {
			die "sql_functions.pl: unterminated $c quote\n" if $j >= $len;
			my $d = substr($sql, $j, 1);
			if ($escapes && $d eq '\\') { $j += 2; next; }
			if ($d eq $c) {
				if (substr($sql, $j + 1, 1) eq $c) { $j += 2; next; }
				last;
			}
			$j++;
		}
		$stmt .= substr($sql, $i, $j - $i + 1);
		$i = $j + 1;
	} elsif ($c eq '$' && substr($sql, $i) =~ /^(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$)/
	         && ($i == 0 || substr($sql, $i - 1, 1) !~ /[\w\$]/)) {
		my $tag = $1;
		my $e = index($sql, $tag, $i + length $tag);
		die "sql_functions.pl: unterminated $tag quote\n" if $e < 0;
		$stmt .= substr($sql, $i, $e + length($tag) - $i);
		$i = $e + length $tag;
	} elsif ($c =~ /[A-Za-z_]/ && ($i == 0 || substr($sql, $i - 1, 1) !~ /[\w\$]/)) {
		substr($sql, $i) =~ /^([A-Za-z_][A-Za-z_0-9\$]*)/;
		my $word = $1;
		my $w = uc $word;
		if ($atomic > 0) {
			$atomic++ if $w eq 'BEGIN' || $w eq 'CASE';
			$atomic-- if $w eq 'END';
		} elsif ($w eq 'ATOMIC' && $stmt =~ /\bBEGIN\s+$/i && $stmt =~ /^\s*CREATE\b/i) {
			$atomic = 1;
		}
		$stmt .= $word;
		$i += length $word;
	} elsif ($c eq ';' && $atomic == 0) {
		emit($stmt);
		$stmt = '';
		$i++;
	} else {
		$stmt .= $c;
		$i++;
	}
}
die "sql_functions.pl: text after the last statement\n" if $stmt =~ /\S/ && $stmt !~ /^(\s|--[^\n]*\n)*$/;
die "sql_functions.pl: no function definitions found\n" if $n == 0;
