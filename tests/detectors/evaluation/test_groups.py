from detectors.evaluation.groups import utkface_groups


def test_utkface_names_are_parsed_defensively() -> None:
    assert utkface_groups("26_1_2_20170116174525125.jpg.chip.jpg") == {"gender": "female", "ethnicity": "Asian",
                                                                       "age": "18-39"}
    assert utkface_groups("70_0_4_2017.jpg.chip.jpg") == {"gender": "male", "ethnicity": "Others", "age": "65+"}
    assert utkface_groups("39_1_20170116174525125.jpg.chip.jpg") is None  # a field is missing
    assert utkface_groups("x_1_2_3.jpg") is None
