// A pipeline module that throws while it is loaded (the user's bug, on line 3).
const settings = JSON.parse('{"lr": 0.1,}');
export default settings;
