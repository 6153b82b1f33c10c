import t from 'tap';
import { FORMATTERS, isVersionName, titleCase, upperCase, VERSION_NAMES } from '../src/versions.ts';

t.test('v1: each word capitalised, the rest lower case', async (t) => {
  const cases: [string, string][] = [
    ['Krajcik Inc', 'Krajcik Inc'],
    ['KRAJCIK INC', 'Krajcik Inc'],
    ['Mitchell - Rolfson', 'Mitchell - Rolfson'],
    ['Monahan LLC', 'Monahan Llc'],
    ["O'Keefe, Schmidt and Wiza", "O'keefe, Schmidt And Wiza"],
    ['Lueilwitz-considine', 'Lueilwitz-Considine'],
    ['a -b\tc\nd', 'A -B\tC\nD'],
    ['élan ÉCOLE', 'Élan École'],
    ['ΣΊΣΥΦΟΣ', 'Σίσυφος'],
    ['ǆEMAL', 'ǅemal'],
    ['', ''],
  ];
  for (const [input, expected] of cases) t.equal(titleCase(input), expected, input);
});

t.test('v2: the whole name upper case', async (t) => {
  t.equal(upperCase('Krajcik Inc'), 'KRAJCIK INC');
  t.equal(upperCase("O'Keefe, Schmidt and Wiza"), "O'KEEFE, SCHMIDT AND WIZA");
  t.equal(upperCase('straße'), 'STRASSE');
});

t.test('case mapping ignores the process locale', async (t) => {
  // Turkish rules would map i to İ; the formatters must not.
  t.equal(upperCase('istanbul'), 'ISTANBUL');
  t.equal(titleCase('ISTANBUL ILTD'), 'Istanbul Iltd');
});

t.test('one table maps each version to its formatter', async (t) => {
  t.same(VERSION_NAMES, ['v1', 'v2']);
  t.equal(FORMATTERS.v1.name, 'title-case');
  t.equal(FORMATTERS.v2.name, 'upper-case');
  t.equal(FORMATTERS.v1.format('krajcik inc'), 'Krajcik Inc');
  t.equal(FORMATTERS.v2.format('krajcik inc'), 'KRAJCIK INC');
  t.ok(isVersionName('v2'));
  t.notOk(isVersionName('v3'));
  t.notOk(isVersionName('toString'), 'inherited keys are not versions');
});
